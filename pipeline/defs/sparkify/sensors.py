"""Sensors over the lake: new (or re-delivered) day files (the kit's new-files sensor, over the look-back
window only), and new or changed song files."""

import dagster as dg

from pipeline.defs.sparkify.lake_files import song_files, song_files_fingerprint
from pipeline.defs.sparkify.layout import LOG_FILES
from pipeline.defs.sparkify.settings import SparkifySettings
from pipeline.defs.sparkify.staging_assets import WAITING_FOR_SONGS, song_catalogue_loaded
from pipeline.lib.lake import DataLakeResource
from pipeline.lib.partitioned_files import new_files_sensor
from pipeline.lib.pipelines import AssetJob


def _waiting_for_songs(instance: dg.DagsterInstance) -> str | None:
    # A daily run joins plays to staging_songs: the days wait (cursor unmoved) for song_files_sensor's first run.
    return None if song_catalogue_loaded(instance) else WAITING_FOR_SONGS


def sparkify_sensors(
    settings: SparkifySettings,
    daily_job: AssetJob,
    songs_job: AssetJob,
    partitions: dg.PartitionsDefinition,
    default_status: dg.DefaultSensorStatus,
) -> list[dg.SensorDefinition]:
    new_log_days_sensor = new_files_sensor(
        LOG_FILES,
        name="new_log_days_sensor",
        job=daily_job,
        partitions_def=partitions,
        lake="sparkify_lake",
        minimum_interval_seconds=settings.sensor_interval_seconds,
        default_status=default_status,
        description="Requests one sparkify_daily run per new day file, and again when a day's file is replaced.",
        version_tag="sparkify/file_version",
        lookback=settings.sensor_lookback_days,
        waiting=_waiting_for_songs,
    )

    @dg.sensor(
        job=songs_job,
        minimum_interval_seconds=3600,  # the song catalogue changes rarely; its listing is the whole prefix
        default_status=default_status,
        description="Refreshes staging_songs, songs and artists when song files are added, replaced or removed.",
    )
    def song_files_sensor(context: dg.SensorEvaluationContext, sparkify_lake: DataLakeResource) -> dg.SensorResult:
        objects = song_files(sparkify_lake.get_lake())
        fingerprint, count = song_files_fingerprint(objects), len(objects)
        if fingerprint == context.cursor:
            return dg.SensorResult(skip_reason=f"the {count} song files are unchanged", cursor=fingerprint)
        return dg.SensorResult(run_requests=[dg.RunRequest(run_key=fingerprint)], cursor=fingerprint)

    return [new_log_days_sensor, song_files_sensor]
