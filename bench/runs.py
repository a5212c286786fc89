"""Figures 2, 3 and 4: whole runs of sparkify_daily (and sparkify_songs), as `python -m pipeline materialize`
makes them.

2. One new day with a long history loaded vs with a short one: an incremental run must not grow with history.
3. That new day vs a full rebuild of the long-history warehouse (the original's way: everything every run).
4. A backfill in one run (BackfillPolicy.single_run) vs one run per day.

Runs execute in this process, definitions already loaded, so a run's cost here is its work plus Dagster
and dbt: a deployment's run worker also starts a process and imports the code, which only adds to the
per-run side of figure 4.
"""

import datetime as dt
from pathlib import Path

from bench.report import Figure, median
from bench.sandbox import Sandbox
from bench.scales import Scale


def history_figures(
    scale: Scale, lake_root: Path, days: list[dt.date], work: Path, extension_dir: Path
) -> dict[int, Figure]:
    """Figures 2 and 3, by number, over a lake of history_days + repeats days (the last ones are new days)."""
    history, new_days = days[: scale.history_days], days[scale.history_days : scale.history_days + scale.repeats]
    long = Sandbox(work / "long_history", str(lake_root), extension_dir)
    short = Sandbox(work / "short_history", str(lake_root), extension_dir)
    # The long history built from nothing: the song catalogue, then every day in one run. The full
    # rebuild the original did on every run.
    full_rebuild = long.load_songs() + long.run_days(history)
    short.load_songs()
    short.run_days(history[-scale.short_history_days :])
    # Each round a day neither warehouse has seen, on both, alternately: what the daily run does, a
    # window dbt has not run before included.
    on_long, on_short = [], []
    for new_day in new_days:
        on_long.append(long.run_days([new_day]))
        on_short.append(short.run_days([new_day]))
    with_long, with_short = median(on_long), median(on_short)
    return {
        2: Figure(
            f"new_day_run_with_{scale.history_days}_days_loaded",
            with_long,
            "s",
            with_short,
            "s",
            with_long / with_short,
            "<= 1.3",
            f"one new day end to end with {scale.history_days} days loaded / with {scale.short_history_days}",
        ),
        3: Figure(
            f"full_rebuild_of_{scale.history_days}_days_vs_new_day",
            full_rebuild,
            "s",
            with_long,
            "s",
            full_rebuild / with_long,
            ">= 10",
            "full rebuild (the song catalogue, then one run over every day, from an empty warehouse) / incremental "
            "new day: the speed-up",
        ),
    }


def backfill_figure(scale: Scale, lake_root: Path, days: list[dt.date], work: Path, extension_dir: Path) -> Figure:
    """Figure 4: the first backfill_days days, in one run and in one run per day, each from an empty warehouse."""
    window = days[: scale.backfill_days]
    single_box = Sandbox(work / "backfill_single_run", str(lake_root), extension_dir)
    per_day_box = Sandbox(work / "backfill_run_per_day", str(lake_root), extension_dir)
    for box in (single_box, per_day_box):  # loaded once either way, as the song sensor does: not timed
        box.load_songs()
    single = single_box.run_days(window)
    per_day = sum(per_day_box.run_days([day]) for day in window)
    return Figure(
        f"backfill_{scale.backfill_days}_days_single_run",
        single,
        "s",
        per_day,
        "s",
        per_day / single,
        ">= 5",
        f"{scale.backfill_days} runs of one day / one run of {scale.backfill_days} days: the speed-up",
    )
