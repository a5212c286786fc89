"""The row counts a dbt build records: each partition's own count, over the model's window, for a model that
declares its window column (`meta.window_column`, as the replace_window strategy reads it); the whole table's
otherwise. Counted by the warehouse resource once dbt has finished (DuckDB lets one process at a time open the
file), from the relation dbt built, as its node_finished event names it (the schemas are the run's variables).
"""

import bisect
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg

from pipeline.lib.identifiers import checked_identifier
from pipeline.lib.metadata import ROW_COUNT, record_partition_row_counts
from pipeline.lib.warehouse import Warehouse


@dataclass(frozen=True)
class BuiltModel:
    """What a model's node_finished event says about the relation it built."""

    relation: str  # as dbt quotes it for its warehouse: "db"."schema"."name"
    window_column: str | None
    run_hr: bool  # the window column holds run_hr numbers (YYYYMMDDHH00), not timestamps or dates

    @classmethod
    def from_node_info(cls, node_info: Mapping[str, Any]) -> "BuiltModel":
        meta = node_info.get("meta") or {}
        column = meta.get("window_column")
        return cls(
            relation=node_info["node_relation"]["relation_name"],
            window_column=checked_identifier(column, "window column") if column else None,
            run_hr=meta.get("window_type") == "run_hr",
        )


def _bound(model: BuiltModel, moment: dt.datetime) -> str:
    """A window bound in the column's terms, as dbt_project/macros/partition_window.sql writes it."""
    moment = moment.astimezone(dt.UTC)
    if model.run_hr:
        return moment.strftime("%Y%m%d%H00")
    return f"cast('{moment:%Y-%m-%d %H:%M:%S}' as timestamp)"


def _bucket_start(model: BuiltModel, bucket: Any) -> dt.datetime:
    """The UTC start of a counted bucket: a run_hr number's hour, or a date's midnight."""
    if model.run_hr:
        return dt.datetime.strptime(str(bucket), "%Y%m%d%H%M").replace(tzinfo=dt.UTC)
    return dt.datetime.combine(bucket, dt.time(), tzinfo=dt.UTC)


def window_counts_sql(model: BuiltModel, window: dg.TimeWindow) -> str:
    """Rows of the window grouped by hour (a run_hr column) or by day (a timestamp or date column)."""
    column = model.window_column
    bucket = column if model.run_hr else f"cast({column} as date)"
    return (
        f"select {bucket}, count(*) from {model.relation}"
        f" where {column} >= {_bound(model, window.start)} and {column} < {_bound(model, window.end)} group by 1"
    )


def partition_counts(
    model: BuiltModel, warehouse: Warehouse, partitions: dg.TimeWindowPartitionsDefinition, keys: Sequence[str]
) -> dict[str, int]:
    """Each partition key's rows in the model's table (0 for a partition with none), in one grouped query."""
    windows = [partitions.time_window_for_partition_key(key) for key in keys]
    starts = [window.start.astimezone(dt.UTC) for window in windows]
    if not model.run_hr and any(w.end - w.start < dt.timedelta(days=1) for w in windows):
        raise ValueError(f"{model.relation}: a timestamp window is counted by day, its partitions are shorter")
    counts = dict.fromkeys(keys, 0)
    for bucket, count in warehouse.query(window_counts_sql(model, dg.TimeWindow(windows[0].start, windows[-1].end))):
        start = _bucket_start(model, bucket)
        counts[keys[bisect.bisect_right(starts, start) - 1]] += count
    return counts


def record_row_counts(
    context: dg.AssetExecutionContext, warehouse: Warehouse, built: Mapping[dg.AssetKey, BuiltModel]
) -> None:
    """Each built model's counts on its materializations: `dagster/partition_row_count` per partition of the run
    for a partitioned model with a window column, `dagster/row_count` of the whole table for any other."""
    partitions = context.assets_def.partitions_def
    for key, model in built.items():
        if partitions is not None and model.window_column:
            counts = partition_counts(model, warehouse, partitions, context.partition_keys)
            record_partition_row_counts(context, counts, asset_key=key)
        else:
            [(count,)] = warehouse.query(f"select count(*) from {model.relation}")
            context.add_asset_metadata({ROW_COUNT: count}, asset_key=key)
