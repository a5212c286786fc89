"""Freshness checks: an hour's weather must be in the lake, staged and modelled by half past the next hour.

The schedule loads an hour five minutes after it ends; by :30 the last complete hour before the deadline must
be materialized (at 12:40, 11:00; at 12:20, 10:00), or its check fails. A missed hour after the nightly stop
stays failed: the APIs no longer serve it (docs/weather.md). Evaluated by their own sensor, never in the
hourly runs, whose checks are about the hour they load.
"""

from pipeline.defs.weather.dbt_assets import weather_models
from pipeline.defs.weather.raw_assets import raw_weather
from pipeline.defs.weather.staging import weather_stage
from pipeline.lib.freshness import partition_freshness

FRESHNESS_DEADLINE_CRON = "30 * * * *"

hourly_freshness_checks, weather_freshness_checks_sensor = partition_freshness(
    [raw_weather, weather_stage, weather_models], FRESHNESS_DEADLINE_CRON, "weather_freshness_checks_sensor"
)
