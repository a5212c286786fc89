"""Dagster's metadata keys this platform sets, named once: what the UI and the CLI's summary read."""

# The table an asset is (dagster-dbt sets it on every model; the loaders on theirs): the summary's rows.
TABLE_NAME = "dagster/table_name"
