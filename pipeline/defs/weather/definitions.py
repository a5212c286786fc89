"""The weather pipeline's definitions, built from its settings: an hour's API answers into the lake, staged,
modelled by dbt, checked (the hour's rows against its history too); the hourly job and schedule, and the
freshness checks with their sensor."""

import dagster as dg

from pipeline.defs.weather.checks import weather_checks
from pipeline.defs.weather.partitions import hourly_partitions
from pipeline.defs.weather.raw_assets import default_hours, raw_assets
from pipeline.defs.weather.resources import weather_resources
from pipeline.defs.weather.schedules import hourly_schedule
from pipeline.defs.weather.settings import WeatherSettings
from pipeline.defs.weather.staging import staging_assets
from pipeline.lib.dbt.assets import partitioned_models
from pipeline.lib.dbt.project import dbt_project
from pipeline.lib.environment import sensor_default_status
from pipeline.lib.freshness import partition_freshness
from pipeline.lib.history_checks import column_schema_change_checks, volume_anomaly_check
from pipeline.lib.pipelines import Pipeline
from pipeline.lib.settings import Settings

GROUP = "weather"
SETTINGS = WeatherSettings
# The schedule loads an hour five minutes after it ends; by :30 the last complete hour before the deadline must
# be materialized (at 12:40, 11:00; at 12:20, 10:00), or its check fails. A missed hour after the nightly stop
# stays failed: the APIs no longer serve it (docs/weather.md).
FRESHNESS_DEADLINE_CRON = "30 * * * *"


def build(platform: Settings) -> Pipeline:
    settings = WeatherSettings.resolve(platform)
    partitions = hourly_partitions(settings.first_hour)
    raw = raw_assets(settings, partitions, GROUP)
    staging = staging_assets(settings.staging_schema, partitions, raw, GROUP, platform.warehouse)
    # dbt_project/models/weather/: `weather` and `cocktails`, typed from the staged answers, each run replacing
    # exactly its hours.
    models = partitioned_models(dbt_project(platform), GROUP, partitions, "weather_models")
    # Evaluated by their own sensor, never in the hourly runs, whose checks are about the hour they load.
    freshness, freshness_sensor = partition_freshness(
        [raw[1], staging[0], models],
        FRESHNESS_DEADLINE_CRON,
        "weather_freshness_checks_sensor",
        sensor_default_status(platform),
    )
    job = dg.define_asset_job(
        name="weather_hourly",
        # The freshness checks are their sensor's: in an hour's run they would judge the clock, not the hour.
        selection=dg.AssetSelection.groups(GROUP) - dg.AssetSelection.checks(*freshness),
        partitions_def=partitions,
        description="An hour's top cities, their current weather and the latest cocktails: fetched once into the "
        "lake (API_DATA_URI), then loaded and modelled; a range of hours reloads from the lake in one run.",
    )
    defs = dg.Definitions(
        assets=[*raw, *staging, models],
        asset_checks=[
            *weather_checks(settings.analytics_schema, partitions),
            volume_anomaly_check(staging[0], settings.volume_anomaly()),  # cities' rows per hour
            *column_schema_change_checks(staging),
            *freshness,
        ],
        jobs=[job],
        schedules=[hourly_schedule(job, settings.fetch_hours)],
        sensors=[freshness_sensor],
        resources=weather_resources(settings, platform),
    )
    return Pipeline(defs, GROUP, lambda: default_hours(settings))
