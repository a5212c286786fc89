"""The Dagster code location of the data platform: one package per pipeline (area), shared resources beside them."""
