"""Dagster's metadata keys this platform sets, named once: what the UI and the CLI's summary read; and each
partition's own row count on its own materialization."""

from collections.abc import Mapping

import dagster as dg

# The table an asset is (dagster-dbt sets it on every model; the loaders on theirs): the summary's rows.
TABLE_NAME = "dagster/table_name"
# Rows in the table, and rows in the partition a materialization wrote: the UI's row count and its plot over
# partitions (dagster's TableMetadataSet fields; the class is not in dagster's public namespace).
ROW_COUNT = "dagster/row_count"
PARTITION_ROW_COUNT = "dagster/partition_row_count"


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
