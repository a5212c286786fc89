"""Dagster's metadata keys this platform sets, named once: what the UI and the CLI's summary read; the metadata a
table the loaders write is declared with, so the asset graph shows its columns and warehouse before any run; and
each partition's own row count on its own materialization."""

from collections.abc import Mapping

import dagster as dg

from pipeline.lib.tables import TableSpec
from pipeline.lib.warehouse.types import WAREHOUSE_TYPES

# Dagster's standard keys, as its docs write them: dagster 1.13 exports no TableMetadataSet to build them with.
# The table an asset is (dagster-dbt sets it on every model; the loaders on theirs): the summary's rows.
TABLE_NAME = "dagster/table_name"
# Rows in the table, and rows in the partition a materialization wrote: the UI's row count and its plot over
# partitions.
ROW_COUNT = "dagster/row_count"
PARTITION_ROW_COUNT = "dagster/partition_row_count"
COLUMN_SCHEMA = "dagster/column_schema"
STORAGE_KIND = "dagster/storage_kind"  # the warehouse a table is in (dagster-dbt sets it on models too)
URI = "dagster/uri"  # the file or prefix a raw or lake asset is


def column_schema(table: TableSpec, warehouse: str) -> dg.TableSchema:
    """The table's columns typed as the warehouse (WAREHOUSE) names the logical types."""
    types = WAREHOUSE_TYPES[warehouse]
    return dg.TableSchema(columns=[dg.TableColumn(column.name, types[column.type]) for column in table.columns])


def warehouse_table(table: TableSpec, warehouse: str) -> dict[str, object]:
    """A loaded table's definition metadata: its name, its columns, and that warehouse as its storage kind (as
    dagster-dbt declares a model's)."""
    return {TABLE_NAME: table.qualified, COLUMN_SCHEMA: column_schema(table, warehouse), STORAGE_KIND: warehouse}


def loaded_table(table: TableSpec, warehouse: str) -> dict[str, object]:
    """What each materialization of a loaded table records: the table, and the columns it was loaded with, which
    Dagster's column-schema-change check compares between the latest two materializations."""
    return {"table": table.qualified, COLUMN_SCHEMA: column_schema(table, warehouse)}


def record_partition_row_counts(
    context: dg.AssetExecutionContext, counts: Mapping[str, int], asset_key: dg.AssetKey | None = None
) -> None:
    """PARTITION_ROW_COUNT of each partition key, on that partition's materialization only.

    A run over a range materializes every partition with an event of its own, and the step's result (a
    MaterializeResult, an Output) gives each of them the same metadata: a range's count there would be every
    partition's. Metadata added for one partition key goes to that partition's event alone.
    """
    for partition_key, count in counts.items():
        context.add_asset_metadata({PARTITION_ROW_COUNT: count}, asset_key=asset_key, partition_key=partition_key)
