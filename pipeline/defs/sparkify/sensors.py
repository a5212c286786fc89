"""Sensors over the lake: new (or re-delivered) day files, and new or changed song files.

The day sensor keeps a date cursor and lists only the keys after the look-back window's first day
(S3 `StartAfter`), so a tick costs the same whatever the size of the bucket's history. A day whose
file changes (a new ETag or mtime) within the look-back window is requested again, exactly once.
"""

import datetime as dt
import json
from dataclasses import dataclass, field

import dagster as dg

from pipeline.defs.sparkify.jobs import sparkify_daily_job, sparkify_songs_job
from pipeline.defs.sparkify.lake_files import song_files, song_files_fingerprint
from pipeline.defs.sparkify.layout import LOG_PREFIX, day_of_event_key, event_key
from pipeline.defs.sparkify.settings import env
from pipeline.defs.sparkify.staging_assets import WAITING_FOR_SONGS, song_catalogue_loaded
from pipeline.lib.environment import sensor_default_status
from pipeline.lib.lake import DataLake, DataLakeResource


@dataclass
class DayScan:
    """What one tick found: days to run (with the file version that triggers them), keys outside the layout."""

    requests: list[tuple[dt.date, str]] = field(default_factory=list)
    outside_layout: list[str] = field(default_factory=list)
    cursor: dict = field(default_factory=dict)


def scan_log_days(lake: DataLake, cursor: dict, lookback_days: int) -> DayScan:
    """New or changed day files since the cursor: {"latest": "YYYY-MM-DD", "versions": {day: version}}."""
    latest = dt.date.fromisoformat(cursor["latest"]) if cursor.get("latest") else None
    versions = dict(cursor.get("versions", {}))
    # Keys sort by date, so listing after the day before the look-back window sees only that window and newer.
    start_after = event_key(latest - dt.timedelta(days=lookback_days + 1)) if latest else None
    scan = DayScan()
    for obj in lake.list(LOG_PREFIX, start_after=start_after):
        day = day_of_event_key(obj.key)
        if day is None:
            scan.outside_layout.append(obj.key)
            continue
        if versions.get(day.isoformat()) != obj.version:
            scan.requests.append((day, obj.version))
            versions[day.isoformat()] = obj.version
        latest = max(latest, day) if latest else day
    if latest is not None:
        window_start = (latest - dt.timedelta(days=lookback_days)).isoformat()
        versions = {day: version for day, version in versions.items() if day >= window_start}
        scan.cursor = {"latest": latest.isoformat(), "versions": versions}
    return scan


@dg.sensor(
    job=sparkify_daily_job,
    minimum_interval_seconds=int(env("SPARKIFY_SENSOR_INTERVAL_SECONDS")),
    default_status=sensor_default_status(),
    description="Requests one sparkify_daily run per new day file, and again when a day's file is replaced.",
)
def new_log_days_sensor(context: dg.SensorEvaluationContext, sparkify_lake: DataLakeResource) -> dg.SensorResult:
    if not song_catalogue_loaded(context.instance):
        # A daily run joins plays to staging_songs: the days wait (cursor unmoved) for song_files_sensor's first run.
        return dg.SensorResult(skip_reason=WAITING_FOR_SONGS, cursor=context.cursor)
    lake = sparkify_lake.get_lake()
    scan = scan_log_days(
        lake, json.loads(context.cursor) if context.cursor else {}, int(env("SPARKIFY_SENSOR_LOOKBACK_DAYS"))
    )
    if scan.outside_layout:
        shown = ", ".join(lake.uri(k) for k in scan.outside_layout[:10])
        context.log.warning(
            f"{len(scan.outside_layout)} object(s) under {LOG_PREFIX} are not day files and were ignored: {shown}"
        )
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=f"{day}@{version}", partition_key=day.isoformat(), tags={"sparkify/file_version": version}
            )
            for day, version in scan.requests
        ],
        cursor=json.dumps(scan.cursor, sort_keys=True) if scan.cursor else context.cursor,
        skip_reason=None if scan.requests else "no new or changed day files",
    )


@dg.sensor(
    job=sparkify_songs_job,
    minimum_interval_seconds=3600,  # the song catalogue changes rarely; its listing is the whole prefix
    default_status=sensor_default_status(),
    description="Refreshes staging_songs, songs and artists when song files are added, replaced or removed.",
)
def song_files_sensor(context: dg.SensorEvaluationContext, sparkify_lake: DataLakeResource) -> dg.SensorResult:
    objects = song_files(sparkify_lake.get_lake())
    fingerprint, count = song_files_fingerprint(objects), len(objects)
    if fingerprint == context.cursor:
        return dg.SensorResult(skip_reason=f"the {count} song files are unchanged", cursor=fingerprint)
    return dg.SensorResult(run_requests=[dg.RunRequest(run_key=fingerprint)], cursor=fingerprint)
