"""The weather pipeline's demo: its three APIs served on 127.0.0.1 for the demo's length (demo_api.py: no key,
no internet); its lake is its default folder; its first hour is the one it fetches."""

import contextlib
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

from pipeline.defs.weather.demo_api import DemoApi
from pipeline.defs.weather.partitions import KEY_FORMAT
from pipeline.lib.demo import Demo


def prepare(folder: Path, today: dt.date) -> dict[str, str]:
    """Nothing to write (the APIs make the data: the demo fetches the hour that just ended); that hour as the first
    partition, so the UI shows the demo's hour filled rather than one among every hour since 2024."""
    hour = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=1)
    return {"WEATHER_FIRST_HOUR": hour.strftime(KEY_FORMAT)}


@contextlib.contextmanager
def serve() -> Iterator[dict[str, str]]:
    api = DemoApi().start()
    try:
        yield api.urls()
    finally:
        api.stop()


demo = Demo(prepare=prepare, serve=serve)
