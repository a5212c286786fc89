"""Sparkify's demo data: a generated lake of the days before today (its daily partitions), and
`python -m pipeline generate sparkify OUT_DIR ...` (the generator's own command line)."""

import datetime as dt
from pathlib import Path

from pipeline.defs.sparkify.sample_data import SampleSpec, generate_lake, main
from pipeline.lib.demo import Demo

DEMO_DAYS = 7


def demo_spec(today: dt.date) -> SampleSpec:
    """The demo's lake: DEMO_DAYS days ending yesterday (UTC), so its days are the partitions due by now
    and its freshness checks pass (the contract's 2018 days would be 7 of thousands of partitions)."""
    return SampleSpec(
        days=DEMO_DAYS, start=today - dt.timedelta(days=DEMO_DAYS), events_per_day=800, song_files=300, users=60
    )


def prepare(folder: Path, today: dt.date) -> dict[str, str]:
    """The sample lake at folder/lake; the lake and its first day, the first daily partition."""
    lake = generate_lake(folder / "lake", demo_spec(today))
    print(
        f"Sample lake: {lake.event_files} day files ({lake.events:,} events, {lake.days[0]} .. {lake.days[-1]}), "
        f"{lake.song_files} song files in {lake.root}"
    )
    return {"SPARKIFY_DATA_URI": str(lake.root), "SPARKIFY_FIRST_DAY": lake.days[0].isoformat()}


demo = Demo(prepare=prepare, generate=main, freshness_checks=True)
