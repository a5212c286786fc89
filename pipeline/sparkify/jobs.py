"""Sparkify's jobs: `sparkify_daily` materializes the whole asset graph for a day or a range of days."""

import dagster as dg

from pipeline.sparkify.partitions import daily_partitions
from pipeline.sparkify.raw_assets import GROUP

sparkify_assets = dg.AssetSelection.groups(GROUP)

sparkify_daily_job = dg.define_asset_job(
    name="sparkify_daily",
    selection=sparkify_assets,
    partitions_def=daily_partitions,
    description="Every Sparkify asset and check for one day, or for a range of days in one run (dagster job backfill).",
)
