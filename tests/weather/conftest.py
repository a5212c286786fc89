"""Fixtures of the weather pipeline's tests: the demo API as a server process, and an isolated platform."""

import datetime as dt
import time

import pytest

from tests.weather.api_server import ApiServer


@pytest.fixture(scope="session")
def api_server():
    server = ApiServer(rate=5).start()
    yield server
    server.stop()


@pytest.fixture
def weather_env(api_server, pipeline_env, tmp_path, monkeypatch):
    """The pipeline pointed at the demo API, with its own lake, warehouse and instance; no step retries."""
    api_server.reset()
    values = {**api_server.urls(), "API_DATA_URI": str(tmp_path / "api_data"), "RETRY_MAX": "0"}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return {**pipeline_env, **values}


# The APIs serve an hour until WEATHER_FETCH_HOURS (2) after its start: the hour that just ended stays fetchable
# only until the next hour begins. A test that starts this close to it waits for the new hour first, so its runs
# never cross the boundary.
BOUNDARY_MARGIN = dt.timedelta(minutes=5)


@pytest.fixture
def current_hour() -> dt.datetime:
    """The hour that just ended: the latest hourly partition, still served by the APIs (the schedule's hour), with
    at least BOUNDARY_MARGIN before it stops being served."""
    now = dt.datetime.now(dt.UTC)
    next_hour = now.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
    if next_hour - now < BOUNDARY_MARGIN:
        time.sleep((next_hour - now).total_seconds() + 1)
        now = dt.datetime.now(dt.UTC)
    return now.replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=1)
