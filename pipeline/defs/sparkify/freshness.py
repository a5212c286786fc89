"""Freshness checks: a day that should have arrived and did not shows up in the UI as a failed check.

Each daily asset's latest complete day must be materialized by 03:00 UTC the next day; the checks are
evaluated by their own sensor, not in the pipeline's runs (and by the demo, in a run of their own).
"""

import warnings

import dagster as dg

from pipeline.defs.sparkify.dbt_assets import sparkify_daily_models
from pipeline.defs.sparkify.raw_assets import raw_log_files
from pipeline.defs.sparkify.staging_assets import staging_events
from pipeline.lib.environment import sensor_default_status

FRESHNESS_DEADLINE_CRON = "0 3 * * *"
FRESHNESS_JOB_NAME = "sparkify_freshness_checks"

# Dagster 1.13 supersedes freshness checks with FreshnessPolicy, which is not a check: it would remove these
# checks and their sensor, which deployments alert on and which the code location promises by name. Only
# that notice is silenced, here where the checks are built.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.SupersessionWarning)
    daily_freshness_checks = dg.build_time_partition_freshness_checks(
        assets=[raw_log_files, staging_events, sparkify_daily_models],
        deadline_cron=FRESHNESS_DEADLINE_CRON,
        timezone="UTC",
    )
    freshness_checks_sensor = dg.build_sensor_for_freshness_checks(
        freshness_checks=daily_freshness_checks,
        name="sparkify_freshness_checks_sensor",
        default_status=sensor_default_status(),
    )


def freshness_checks_job():
    """A job of the freshness checks alone, for a command that evaluates them now (the demo), as the sensor
    does on the clock. Made on call, so it is not a job of the code location (whose jobs load data)."""
    return dg.define_asset_job(
        FRESHNESS_JOB_NAME,
        selection=dg.AssetSelection.checks(*daily_freshness_checks),
        description="The daily assets' freshness checks, evaluated once (what sparkify_freshness_checks_sensor runs).",
    )
