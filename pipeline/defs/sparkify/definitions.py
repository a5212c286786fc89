"""Sparkify's definitions, built from its settings: raw files -> staging -> the dbt star schema, with the
reconciliation and SQL checks, the volume-anomaly and column-schema checks, freshness checks, the two jobs, the
daily schedule and the lake's sensors."""

import dagster as dg

from pipeline.defs.sparkify.checks import reconciliation_check
from pipeline.defs.sparkify.dbt_assets import dbt_models
from pipeline.defs.sparkify.jobs import sparkify_jobs
from pipeline.defs.sparkify.layout import LOG_FILES
from pipeline.defs.sparkify.partitions import daily_partitions
from pipeline.defs.sparkify.quality_checks import quality_checks
from pipeline.defs.sparkify.raw_assets import raw_log_files, raw_song_files
from pipeline.defs.sparkify.schedules import daily_schedule
from pipeline.defs.sparkify.sensors import sparkify_sensors
from pipeline.defs.sparkify.settings import SparkifySettings
from pipeline.defs.sparkify.staging_assets import staging_assets
from pipeline.defs.sparkify.staging_tables import staging_tables
from pipeline.lib.dbt.project import dbt_project
from pipeline.lib.environment import sensor_default_status
from pipeline.lib.freshness import partition_freshness
from pipeline.lib.history_checks import column_schema_change_checks, volume_anomaly_check
from pipeline.lib.lake import lake_resource, open_lake
from pipeline.lib.pipelines import NoData, Pipeline
from pipeline.lib.settings import Settings

GROUP = "sparkify"
SETTINGS = SparkifySettings
# Each daily asset's latest complete day must be materialized by 03:00 UTC the next day.
FRESHNESS_DEADLINE_CRON = "0 3 * * *"


def build(platform: Settings) -> Pipeline:
    settings = SparkifySettings.resolve(platform)
    partitions = daily_partitions(settings.first_day)
    tables = staging_tables(settings.staging_schema)
    raw = [raw_log_files(partitions, GROUP), raw_song_files(GROUP)]
    staging = staging_assets(tables, partitions, raw, GROUP, platform.warehouse)
    models = dbt_models(dbt_project(platform), partitions)
    sensor_status = sensor_default_status(platform)
    # Evaluated by their own sensor, not in the pipeline's runs (and by the demo, in a run of their own).
    freshness, freshness_sensor = partition_freshness(
        [raw[0], staging[0], models[0]], FRESHNESS_DEADLINE_CRON, "sparkify_freshness_checks_sensor", sensor_status
    )
    daily_job, songs_job = sparkify_jobs(GROUP, partitions, freshness)
    defs = dg.Definitions(
        assets=[*raw, *staging, *models],
        asset_checks=[
            reconciliation_check(tables, partitions),
            *quality_checks(settings, [*raw, *staging, *models]),
            volume_anomaly_check(staging[0], settings.volume_anomaly()),  # events per day
            *column_schema_change_checks(staging),
            *freshness,
        ],
        jobs=[daily_job, songs_job],
        schedules=[daily_schedule(settings, daily_job)],
        sensors=[*sparkify_sensors(settings, daily_job, songs_job, partitions, sensor_status), freshness_sensor],
        resources={"sparkify_lake": lake_resource(settings.data_uri)},
    )
    return Pipeline(defs, GROUP, lambda: days_in_lake(settings.data_uri))


def days_in_lake(data_uri: str) -> tuple[str, str]:
    """The first and last day with an event file: what `python -m pipeline materialize` runs by default."""
    found = LOG_FILES.data_range(open_lake(data_uri))
    if found is None:
        raise NoData(f"no day files under {data_uri}/log_data/: nothing to materialize")
    return found
