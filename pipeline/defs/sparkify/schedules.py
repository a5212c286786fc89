"""The daily schedule: every tick requests each recent day that has not been loaded yet, once.

A tick at SPARKIFY_SCHEDULE_CRON (UTC) looks at the last SPARKIFY_SCHEDULE_CATCHUP_DAYS complete days and
requests those whose staging_events partition is not materialized, with the day as run key. So after
the host was down (stopped every night), the first tick runs each missed day exactly once, whatever the
cadence or the scheduler's own catch-up limit; a day already requested is never requested again (the
sensor re-runs a day whose file is replaced). The original ran hourly: SPARKIFY_SCHEDULE_CRON="0 * * * *"
does the same here, each hour a no-op once the day is in.
"""

import datetime as dt

import dagster as dg

from pipeline.defs.sparkify.settings import SparkifySettings
from pipeline.defs.sparkify.staging_assets import STAGING_EVENTS_KEY, WAITING_FOR_SONGS, song_catalogue_loaded
from pipeline.lib.pipelines import AssetJob


def days_to_request(tick: dt.datetime, catchup_days: int, materialized: set[str], first_day: dt.date) -> list[dt.date]:
    """Complete days in the catch-up window before the tick, oldest first, that are not materialized."""
    last = tick.astimezone(dt.UTC).date() - dt.timedelta(days=1)
    first = max(last - dt.timedelta(days=catchup_days - 1), first_day)
    days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    return [day for day in days if day.isoformat() not in materialized]


def daily_schedule(settings: SparkifySettings, job: AssetJob) -> dg.ScheduleDefinition:
    @dg.schedule(
        name="sparkify_daily_schedule",
        job=job,
        cron_schedule=settings.schedule_cron,
        execution_timezone="UTC",
        # Files landing trigger runs through the sensor: docs/running-unattended.md.
        default_status=dg.DefaultScheduleStatus.STOPPED,
    )
    def sparkify_daily_schedule(context: dg.ScheduleEvaluationContext):
        if not song_catalogue_loaded(context.instance):  # the days would join plays to no songs: they wait
            return dg.SkipReason(WAITING_FOR_SONGS)
        materialized = context.instance.get_materialized_partitions(STAGING_EVENTS_KEY)
        days = days_to_request(
            context.scheduled_execution_time, settings.schedule_catchup_days, materialized, settings.first_day
        )
        if not days:
            return dg.SkipReason("every day in the catch-up window is loaded")
        return [dg.RunRequest(run_key=day.isoformat(), partition_key=day.isoformat()) for day in days]

    return sparkify_daily_schedule
