"""Shared code that defines no Dagster objects: settings, the lake, the warehouses, dbt, retries, checks."""
