"""Fixtures of the weather pipeline's tests: the demo API as a server process, and an isolated platform."""

import datetime as dt

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


@pytest.fixture
def current_hour() -> dt.datetime:
    """The hour that just ended: the latest hourly partition, still served by the APIs (the schedule's hour)."""
    now = dt.datetime.now(dt.UTC)
    return now.replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=1)
