"""Dagster's metadata keys this platform sets, named once: what the UI and the CLI's summary read; and the metadata
a table the loaders write is declared with, so the asset graph shows its columns and warehouse before any run."""

import dagster as dg

from pipeline.lib.tables import TableSpec
from pipeline.lib.warehouse.types import WAREHOUSE_TYPES

# Dagster's standard keys, as its docs write them: dagster 1.13 exports no TableMetadataSet to build them with.
# The table an asset is (dagster-dbt sets it on every model; the loaders on theirs): the summary's rows.
TABLE_NAME = "dagster/table_name"
COLUMN_SCHEMA = "dagster/column_schema"
STORAGE_KIND = "dagster/storage_kind"  # the warehouse a table is in (dagster-dbt sets it on models too)
URI = "dagster/uri"  # the file or prefix a raw or lake asset is


def warehouse_table(table: TableSpec, warehouse: str) -> dict[str, object]:
    """A loaded table's definition metadata: its name, its columns typed as the warehouse (WAREHOUSE) names the
    logical types, and that warehouse as its storage kind (as dagster-dbt declares a model's)."""
    types = WAREHOUSE_TYPES[warehouse]
    schema = dg.TableSchema(columns=[dg.TableColumn(column.name, types[column.type]) for column in table.columns])
    return {TABLE_NAME: table.qualified, COLUMN_SCHEMA: schema, STORAGE_KIND: warehouse}
