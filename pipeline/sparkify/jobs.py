"""Sparkify's jobs: `sparkify_daily` materializes the whole asset graph for a day or a range of days;
`sparkify_songs` refreshes what depends only on the song files."""

import dagster as dg

from pipeline.sparkify.freshness import daily_freshness_checks
from pipeline.sparkify.partitions import daily_partitions
from pipeline.sparkify.raw_assets import GROUP

# Freshness checks are evaluated by their sensor, on the clock, not in the runs that load data.
sparkify_assets = dg.AssetSelection.groups(GROUP) - dg.AssetSelection.checks(*daily_freshness_checks)

sparkify_daily_job = dg.define_asset_job(
    name="sparkify_daily",
    selection=sparkify_assets,
    partitions_def=daily_partitions,
    description="Every Sparkify asset and check for one day, or for a range of days in one run (dagster job backfill).",
)

sparkify_songs_job = dg.define_asset_job(
    name="sparkify_songs",
    selection=dg.AssetSelection.assets(
        ["raw", "song_data"], ["staging", "staging_songs"], ["analytics", "songs"], ["analytics", "artists"]
    ),
    description="The song files into staging_songs, then the songs and artists dimensions.",
)
