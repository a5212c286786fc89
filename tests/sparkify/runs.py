"""Sparkify's two jobs run in process through the platform's `run_job`, as the tests and the benchmark call them."""

import datetime as dt

from pipeline.lib.materialize import Outcome
from tests.platform import materialize, run


def materialize_songs() -> Outcome:
    """One run of `sparkify_songs`: song files not loaded before into staging_songs, then songs and artists."""
    return run("sparkify_songs")


def materialize_days(days: list[dt.date], tags: dict[str, str] | None = None) -> Outcome:
    """One run of `sparkify_daily` over the days, as one partition range (the song catalogue must be loaded)."""
    return run("sparkify_daily", (days[0].isoformat(), days[-1].isoformat()), tags=tags)


def materialize_all(days: list[dt.date]) -> list[tuple[str, Outcome]]:
    """The song catalogue, then the days in one run (not run if the songs failed): `python -m pipeline materialize`."""
    return materialize("sparkify", days[0].isoformat(), days[-1].isoformat())
