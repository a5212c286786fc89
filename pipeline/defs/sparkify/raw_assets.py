"""Raw assets: the lake's files themselves. Materializing one records which objects a run saw (key, size, version)
and fails loudly when a day's file is missing, so a missing day is never mistaken for an empty one."""

import dagster as dg

from pipeline.defs.sparkify import GROUP
from pipeline.defs.sparkify.lake_files import clears_empty_days, day_files, loadable_song_files, song_files_fingerprint
from pipeline.defs.sparkify.partitions import daily_backfill_policy, daily_partitions, days_of
from pipeline.lib.lake import DataLakeResource
from pipeline.lib.retries import retried_on_fault


def _objects_table(lake, objects) -> dg.MetadataValue:
    rows = "\n".join(f"| `{lake.uri(o.key)}` | {o.size} | `{o.version}` |" for o in objects)
    return dg.MetadataValue.md(f"| object | bytes | version |\n|---|---|---|\n{rows}")


@dg.asset(
    key=["raw", "log_data"],
    group_name=GROUP,
    partitions_def=daily_partitions,
    backfill_policy=daily_backfill_policy,
    kinds={"s3", "json"},
    description="One JSON Lines activity-log file per UTC day: log_data/YYYY/MM/YYYY-MM-DD-events.json.",
)
@retried_on_fault
def raw_log_files(context: dg.AssetExecutionContext, sparkify_lake: DataLakeResource) -> dg.MaterializeResult:
    lake = sparkify_lake.get_lake()
    days = days_of(context)
    objects = day_files(lake, days, clear_empty=clears_empty_days(context))
    for day, obj in zip(days, objects, strict=True):
        context.log_event(
            dg.AssetObservation(
                asset_key=context.asset_key,
                partition=day.isoformat(),
                metadata={"uri": lake.uri(obj.key), "key": obj.key, "size": obj.size, "version": obj.version},
            )
        )
    return dg.MaterializeResult(
        metadata={"days": len(objects), "bytes": sum(o.size for o in objects), "objects": _objects_table(lake, objects)}
    )


@dg.asset(
    key=["raw", "song_data"],
    group_name=GROUP,
    kinds={"s3", "json"},
    description="The song metadata files: song_data/A/B/C/TR....json, one or more song objects each.",
)
@retried_on_fault
def raw_song_files(sparkify_lake: DataLakeResource) -> dg.MaterializeResult:
    lake = sparkify_lake.get_lake()
    objects = loadable_song_files(lake)
    if not objects:
        raise dg.Failure(f"no song files under {lake.uri('song_data/')}: is SPARKIFY_DATA_URI the lake's root?")
    fingerprint = song_files_fingerprint(objects)
    return dg.MaterializeResult(
        metadata={"files": len(objects), "bytes": sum(o.size for o in objects), "fingerprint": fingerprint},
        data_version=dg.DataVersion(fingerprint),
    )
