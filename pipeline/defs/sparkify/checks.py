"""The reconciliation check: a day's staging rows equal the event objects of that day's raw file.

It counts the objects with the Python reader, independently of the engine that loaded them, so a file
read twice or cut short by the loader cannot pass: nothing lost, nothing doubled.
"""

import datetime as dt
from dataclasses import dataclass

import dagster as dg

from pipeline.defs.sparkify.layout import event_key
from pipeline.defs.sparkify.partitions import day_epoch_ms, days_of
from pipeline.defs.sparkify.staging_assets import STAGING_EVENTS_KEY
from pipeline.defs.sparkify.staging_tables import EVENT_TIME_COLUMN, StagingTables
from pipeline.lib.dagster_internals import latest_materialization_target
from pipeline.lib.json_records import count_objects
from pipeline.lib.lake import DataLake, DataLakeResource
from pipeline.lib.retries import retried_on_fault
from pipeline.lib.warehouse import Warehouse

CHECK_NAME = "staging_events_match_raw_files"


@dataclass(frozen=True)
class DayCount:
    day: dt.date
    raw: int  # event objects in the day's file
    staged: int  # staging rows in the day's time window

    @property
    def matches(self) -> bool:
        return self.raw == self.staged

    @property
    def mismatch(self) -> str:
        return f"{self.day}: {self.raw} objects in the file, {self.staged} rows staged"


def count_day(lake: DataLake, warehouse: Warehouse, tables: StagingTables, day: dt.date) -> DayCount:
    with lake.open(event_key(day)) as stream:
        raw = count_objects(stream, lake.uri(event_key(day)))
    low, high = day_epoch_ms(day)
    window = f"{EVENT_TIME_COLUMN} >= {low} and {EVENT_TIME_COLUMN} < {high}"
    return DayCount(day, raw, warehouse.row_count(tables.events.qualified, window))


def _counts_table(counts: list[DayCount]) -> dg.MetadataValue:
    rows = "\n".join(f"| {c.day} | {c.raw} | {c.staged} |" for c in counts)
    return dg.MetadataValue.md("| day | raw objects | staged rows |\n|---|---|---|\n" + rows)


def _log_each_day(context: dg.AssetCheckExecutionContext, counts: list[DayCount]) -> None:
    """One evaluation per day of a range run: the UI keeps a partitioned check's status per partition, and
    the result returned for the whole range carries none, so without these its days would show as skipped."""
    for count in counts:
        context.op_execution_context.log_event(
            dg.AssetCheckEvaluation(
                asset_key=STAGING_EVENTS_KEY,
                check_name=CHECK_NAME,
                passed=count.matches,
                partition=count.day.isoformat(),
                description=None if count.matches else count.mismatch,
                metadata={"raw_objects": count.raw, "staged_rows": count.staged},
                # the UI counts a day's evaluation only if it names the day's latest materialization
                target_materialization_data=latest_materialization_target(
                    context.instance, STAGING_EVENTS_KEY, count.day.isoformat()
                ),
                blocking=True,
            )
        )


def reconciliation_check(tables: StagingTables, partitions: dg.PartitionsDefinition) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=STAGING_EVENTS_KEY, name=CHECK_NAME, partitions_def=partitions, blocking=True)
    @retried_on_fault
    def staging_events_match_raw_files(
        context: dg.AssetCheckExecutionContext, sparkify_lake: DataLakeResource, warehouse: Warehouse
    ) -> dg.AssetCheckResult:
        """Every day's staged rows equal the number of event objects in its raw file."""
        lake = sparkify_lake.get_lake()
        # Every day is counted before any is reported, so a retried fault never reports a day twice.
        counts = [count_day(lake, warehouse, tables, day) for day in days_of(context)]
        if not context.op_execution_context.has_partition_key:  # a one-day run's result is that day's already
            _log_each_day(context, counts)
        mismatched = [c.mismatch for c in counts if not c.matches]
        return dg.AssetCheckResult(
            passed=not mismatched,
            description="; ".join(mismatched) or None,
            metadata={
                "days_checked": len(counts),
                "days_mismatched": len(mismatched),
                "counts": _counts_table(counts),
            },
        )

    return staging_events_match_raw_files
