"""Freshness checks: each daily asset's latest complete day must be materialized by 03:00 UTC the next day.

The checks are evaluated by their own sensor, not in the pipeline's runs (and by the demo, in a run of their own).
"""

from pipeline.defs.sparkify.dbt_assets import sparkify_daily_models
from pipeline.defs.sparkify.raw_assets import raw_log_files
from pipeline.defs.sparkify.staging_assets import staging_events
from pipeline.lib.freshness import partition_freshness

FRESHNESS_DEADLINE_CRON = "0 3 * * *"

daily_freshness_checks, freshness_checks_sensor = partition_freshness(
    [raw_log_files, staging_events, sparkify_daily_models], FRESHNESS_DEADLINE_CRON, "sparkify_freshness_checks_sensor"
)
