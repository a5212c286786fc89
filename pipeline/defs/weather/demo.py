"""The weather pipeline's demo: its three APIs served on 127.0.0.1 for the demo's length (demo_api.py: no key,
no internet); its lake is its default folder."""

import contextlib
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

from pipeline.defs.weather.demo_api import DemoApi
from pipeline.lib.demo import Demo


def prepare(folder: Path, today: dt.date) -> dict[str, str]:
    return {}  # the APIs make the data: the demo fetches the hour that just ended


@contextlib.contextmanager
def serve() -> Iterator[dict[str, str]]:
    api = DemoApi().start()
    try:
        yield api.urls()
    finally:
        api.stop()


demo = Demo(prepare=prepare, serve=serve)
