"""Sparkify's jobs: `sparkify_daily` loads a day (or a range of days) of activity logs and models it;
`sparkify_songs` loads the song catalogue and models the dimensions that depend only on it.

They are two jobs because the two sources change at their own pace: a day file arrives every day and
its run touches only that day (staging_events, songplays, time) and the users who played in it; the
song files change rarely, and rebuilding songs and artists in every daily run is the cost the
original pipeline paid on each run (benchmark figure 3). The daily run joins plays to the songs
staged so far; `song_files_sensor` refreshes them when song files change.
"""

import dagster as dg

from pipeline.defs.sparkify import GROUP
from pipeline.defs.sparkify.freshness import daily_freshness_checks
from pipeline.defs.sparkify.partitions import daily_partitions

# The song catalogue's assets, with their checks.
song_catalogue = dg.AssetSelection.assets(
    ["raw", "song_data"], ["staging", "staging_songs"], ["analytics", "songs"], ["analytics", "artists"]
)
# Freshness checks are evaluated by their sensor, on the clock, not in the runs that load data.
daily_assets = dg.AssetSelection.groups(GROUP) - song_catalogue - dg.AssetSelection.checks(*daily_freshness_checks)

sparkify_daily_job = dg.define_asset_job(
    name="sparkify_daily",
    selection=daily_assets,
    partitions_def=daily_partitions,
    description="A day's activity log into staging_events, songplays, time and users, with their checks; "
    "a range of days in one run (dagster job backfill). Needs the song catalogue loaded (sparkify_songs).",
)

sparkify_songs_job = dg.define_asset_job(
    name="sparkify_songs",
    selection=song_catalogue,
    description="The song files into staging_songs, then the songs and artists dimensions.",
)
