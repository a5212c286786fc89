"""The hourly schedule: five minutes past each hour, the hour that just ended, and only while it is current.

Catch-up is off, as the original's: the APIs serve current weather, so after the host was down (the nightly
stop) the missed hours are skipped with a reason, not run with the weather of now (docs/weather.md).
"""

import datetime as dt

import dagster as dg

from pipeline.defs.weather.partitions import KEY_FORMAT
from pipeline.defs.weather.raw_assets import fetchable
from pipeline.lib.pipelines import AssetJob


def hourly_schedule(job: AssetJob, fetch_hours: float) -> dg.ScheduleDefinition:
    @dg.schedule(
        name="weather_hourly_schedule",
        job=job,
        cron_schedule="5 * * * *",
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.STOPPED,
    )
    def weather_hourly_schedule(context: dg.ScheduleEvaluationContext):
        tick = context.scheduled_execution_time.astimezone(dt.UTC)
        hour = tick.replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=1)
        if not fetchable(hour, fetch_hours):
            return dg.SkipReason(f"{hour:%Y-%m-%d %H:00} UTC is past: the APIs serve only current data (no catch-up)")
        key = hour.strftime(KEY_FORMAT)
        return dg.RunRequest(run_key=key, partition_key=key)

    return weather_hourly_schedule
