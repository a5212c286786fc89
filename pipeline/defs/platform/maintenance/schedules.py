"""The maintenance schedule: the housekeeping job once a week, Sunday 03:00 UTC, away from the daily loads.

It starts STOPPED: it deletes run history, so each deployment switches it on deliberately (UI, or
`dagster schedule start maintenance_weekly`), after a launch of `maintenance` with `dry_run: true` has shown
what it would delete there.
"""

import dagster as dg


def maintenance_schedule(job: dg.JobDefinition) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name="maintenance_weekly",
        job=job,
        cron_schedule="0 3 * * 0",
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description="Housekeeping every Sunday at 03:00 UTC with the job's default retention (30/90/14 days).",
    )
