"""Sparkify's jobs: `sparkify_daily` loads a day (or a range of days) of activity logs and models it;
`sparkify_songs` loads the song catalogue and models the dimensions that depend only on it.

They are two jobs because the two sources change at their own pace: a day file arrives every day and
its run touches only that day (staging_events, songplays, time) and the users who played in it; the
song files change rarely, and rebuilding songs and artists in every daily run is the cost the
original pipeline paid on each run (benchmark figure 3). The daily run joins plays to the songs
staged so far; `song_files_sensor` refreshes them when song files change.
"""

from collections.abc import Sequence

import dagster as dg

from pipeline.lib.pipelines import AssetJob

# The song catalogue's assets, with their checks.
SONG_CATALOGUE = dg.AssetSelection.assets(
    ["raw", "song_data"], ["staging", "staging_songs"], ["analytics", "songs"], ["analytics", "artists"]
)


def sparkify_jobs(
    group: str, partitions: dg.PartitionsDefinition, freshness_checks: Sequence[dg.AssetChecksDefinition]
) -> tuple[AssetJob, AssetJob]:
    """(the daily job, the songs job). Freshness checks are their sensor's, on the clock, not the loads'."""
    daily = dg.define_asset_job(
        name="sparkify_daily",
        selection=dg.AssetSelection.groups(group) - SONG_CATALOGUE - dg.AssetSelection.checks(*freshness_checks),
        partitions_def=partitions,
        description="A day's activity log into staging_events, songplays, time and users, with their checks; "
        "a range of days in one run (dagster job backfill). Needs the song catalogue loaded (sparkify_songs).",
    )
    songs = dg.define_asset_job(
        name="sparkify_songs",
        selection=SONG_CATALOGUE,
        description="The song files into staging_songs, then the songs and artists dimensions.",
    )
    return daily, songs
