"""Freshness checks: a day that should have arrived and did not shows up in the UI as a failed check.

Each daily asset's latest complete day must be materialized by 03:00 UTC the next day; the checks are
evaluated by their own sensor, not in the pipeline's runs.
"""

import dagster as dg

from pipeline.deployment import sensor_default_status
from pipeline.sparkify.dbt_assets import sparkify_daily_models
from pipeline.sparkify.raw_assets import raw_log_files
from pipeline.sparkify.staging_assets import staging_events

FRESHNESS_DEADLINE_CRON = "0 3 * * *"

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
