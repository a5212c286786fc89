"""The reconciliation check: a day's staging rows equal the event objects of that day's raw file.

It counts the objects with the Python reader, independently of the engine that loaded them, so a file
read twice or cut short by the loader cannot pass: nothing lost, nothing doubled.
"""

import dagster as dg

from pipeline.lib.json_records import count_objects
from pipeline.lib.lake import DataLakeResource
from pipeline.lib.retries import retried_on_fault
from pipeline.defs.sparkify.layout import event_key
from pipeline.defs.sparkify.partitions import daily_partitions, day_epoch_ms, days_of
from pipeline.defs.sparkify.staging_assets import staging_events
from pipeline.defs.sparkify.staging_tables import EVENT_TIME_COLUMN, STAGING_EVENTS
from pipeline.lib.warehouse import Warehouse


@dg.asset_check(asset=staging_events, partitions_def=daily_partitions, blocking=True)
@retried_on_fault
def staging_events_match_raw_files(
    context: dg.AssetCheckExecutionContext, sparkify_lake: DataLakeResource, warehouse: Warehouse
) -> dg.AssetCheckResult:
    """Every day's staged rows equal the number of event objects in its raw file."""
    lake = sparkify_lake.get_lake()
    rows, mismatched = [], []
    for day in days_of(context):
        with lake.open(event_key(day)) as stream:
            raw = count_objects(stream, lake.uri(event_key(day)))
        low, high = day_epoch_ms(day)
        staged = warehouse.row_count(STAGING_EVENTS.qualified, f"{EVENT_TIME_COLUMN} >= {low} and {EVENT_TIME_COLUMN} < {high}")
        rows.append(f"| {day} | {raw} | {staged} |")
        if raw != staged:
            mismatched.append(f"{day}: {raw} objects in the file, {staged} rows staged")
    return dg.AssetCheckResult(
        passed=not mismatched,
        description="; ".join(mismatched) or None,
        metadata={
            "days_checked": len(rows),
            "days_mismatched": len(mismatched),
            "counts": dg.MetadataValue.md("| day | raw objects | staged rows |\n|---|---|---|\n" + "\n".join(rows)),
        },
    )
