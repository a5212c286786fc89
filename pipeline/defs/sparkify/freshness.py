"""Freshness checks: a day that should have arrived and did not shows up in the UI as a failed check.

Each daily asset's latest complete day must be materialized by 03:00 UTC the next day; the checks are
evaluated by their own sensor, not in the pipeline's runs.
"""

import warnings

import dagster as dg

from pipeline.lib.environment import sensor_default_status
from pipeline.defs.sparkify.dbt_assets import sparkify_daily_models
from pipeline.defs.sparkify.raw_assets import raw_log_files
from pipeline.defs.sparkify.staging_assets import staging_events

FRESHNESS_DEADLINE_CRON = "0 3 * * *"

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
