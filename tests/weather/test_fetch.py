"""The weather pipeline's raw assets against the demo API served on loopback: what is fetched, what is stored,
what is never stored, and that an hour in the lake is not fetched again."""

import datetime as dt
import json
import os
import time

import pytest

from pipeline.defs.weather.layout import cities_key, cocktails_key, weather_key
from pipeline.defs.weather.partitions import KEY_FORMAT
from pipeline.lib.http_api import ApiClient, ApiError, RateLimiter, RetryBudget
from tests.platform import default_definitions, run

CITIES = ["Tokyo", "São Paulo", "New York", "Zürich", "Mexico City"]


def materialize_hour(hour: dt.datetime):
    key = hour.strftime(KEY_FORMAT)
    return run("weather_hourly", (key, key))


def stored(env, key: str) -> object:
    with open(f"{env['API_DATA_URI']}/{key}", "rb") as f:
        return json.load(f)


def api_calls(api_server) -> list[tuple[str, int]]:
    return [(path, status) for _, path, status in api_server.requests()]


def test_an_hour_stores_the_served_answers_as_json_and_a_rerun_calls_no_api(weather_env, api_server, current_hour):
    outcome = materialize_hour(current_hour)

    assert outcome.ok, outcome.errors
    assert stored(weather_env, cities_key(current_hour)) == CITIES
    assert weather_key(current_hour, "São Paulo").endswith("/sao_paulo.json")
    for city in CITIES:
        assert stored(weather_env, weather_key(current_hour, city))["location"]["name"] == city  # the name as served
    assert len(stored(weather_env, cocktails_key(current_hour))["drinks"]) == 4
    calls = api_calls(api_server)
    assert sorted(calls) == sorted(
        [("/cities", 200), ("/cocktails/latest.php", 200)] + [("/weather/current.json", 200)] * 5
    )

    assert materialize_hour(current_hour).ok
    assert api_calls(api_server) == calls  # nothing asked twice


def test_429_then_success_stores_one_valid_object(weather_env, api_server, current_hour):
    api_server.fault(path="/weather", status=429, body={"message": "Too many requests"}, times=2, retry_after=0)

    outcome = materialize_hour(current_hour)

    assert outcome.ok, outcome.errors
    statuses = [status for path, status in api_calls(api_server) if path.startswith("/weather")]
    assert sorted(statuses) == [200] * 5 + [429] * 2
    assert all("current" in stored(weather_env, weather_key(current_hour, c)) for c in CITIES)


def test_a_permanent_429_fails_the_hour_naming_city_status_and_body_and_stores_no_weather(
    weather_env, api_server, current_hour
):
    api_server.fault(path="/weather", status=429, body={"message": "Too many requests"}, times=-1, retry_after=0)

    outcome = materialize_hour(current_hour)

    assert not outcome.ok
    [error] = [e for e in outcome.errors if e.startswith("raw__weather")]
    assert f"{current_hour:%Y-%m-%d %H:00} UTC" in error
    assert 'weather of Tokyo: HTTP 429: \'{"message": "Too many requests"}\'' in error
    with pytest.raises(FileNotFoundError):
        stored(weather_env, weather_key(current_hour, "Tokyo"))


@pytest.mark.parametrize(
    "fault, expected",
    [
        ({"kind": "error_200"}, "HTTP 200: the API answered with an error object"),
        ({"kind": "malformed"}, "HTTP 200: the body is not JSON"),
        ({"status": 404, "body": {"message": "Not Found"}}, 'HTTP 404: \'{"message": "Not Found"}\''),
    ],
    ids=["200-with-an-error-object", "malformed-json", "404"],
)
def test_an_answer_that_is_not_weather_is_never_stored_and_not_retried(
    weather_env, api_server, current_hour, fault, expected
):
    api_server.fault(path="/weather/current.json", times=1, **fault)

    outcome = materialize_hour(current_hour)

    assert not outcome.ok
    assert any(expected in e for e in outcome.errors), outcome.errors
    weather_calls = [c for c in api_calls(api_server) if c[0].startswith("/weather")]
    assert len(weather_calls) == 5  # each city asked once: a bad body is not retried
    present = [c for c in CITIES if os.path.isfile(f"{weather_env['API_DATA_URI']}/{weather_key(current_hour, c)}")]
    assert len(present) == 4  # the other cities were stored; the bad answer was not


def test_an_old_stored_error_body_is_fetched_again_and_replaced(weather_env, api_server, current_hour):
    path = f"{weather_env['API_DATA_URI']}/{weather_key(current_hour, 'Tokyo')}"
    os.makedirs(os.path.dirname(path))
    with open(path, "w") as f:  # what the original stored: a Python repr of a 429's body
        f.write("{'message': 'Too many requests'}")

    outcome = materialize_hour(current_hour)

    assert outcome.ok, outcome.errors
    assert stored(weather_env, weather_key(current_hour, "Tokyo"))["location"]["name"] == "Tokyo"


def test_a_past_hour_missing_from_the_lake_fails_without_calling_the_api(weather_env, api_server, current_hour):
    past = current_hour - dt.timedelta(hours=5)

    outcome = materialize_hour(past)

    assert not outcome.ok
    assert any("is not in the lake, and the API serves only current data" in e for e in outcome.errors)
    assert api_calls(api_server) == []


def test_the_client_keeps_to_the_rate_and_causes_no_429(api_server):
    api_server.reset(rate=5)
    started = time.monotonic()
    with ApiClient(RateLimiter(5)) as client:
        for _ in range(15):
            client.get_json(f"{api_server.url}/cities", "the city list")
    elapsed = time.monotonic() - started
    times = sorted(t for t, _, _ in api_server.requests())
    assert [status for _, _, status in api_server.requests()] == [200] * 15  # no 429 caused by the client
    assert (len(times) - 1) / (times[-1] - times[0]) <= 5 * 1.02  # the pace, measured at the server
    assert elapsed >= 2.7  # 15 requests at 5/s: the first 5 at once would be a burst


def test_a_client_without_budget_left_raises_naming_the_request(api_server):
    api_server.reset()
    api_server.fault(path="/cities", status=503, times=-1, retry_after=0)
    budget = RetryBudget(attempts=3, backoff_initial=0.01)
    with ApiClient(RateLimiter(50), budget=budget) as client, pytest.raises(ApiError, match="list: HTTP 503") as error:
        client.get_json(f"{api_server.url}/cities", "the city list")
    assert error.value.retryable
    assert [s for _, p, s in api_server.requests() if p == "/cities"] == [503, 503, 503]


def test_the_schedule_requests_the_hour_just_ended_and_skips_missed_ticks():
    import dagster as dg

    weather_hourly_schedule = default_definitions().resolve_schedule_def("weather_hourly_schedule")
    now = dt.datetime.now(dt.UTC).replace(minute=5, second=0, microsecond=0)
    request = weather_hourly_schedule(dg.build_schedule_context(scheduled_execution_time=now))
    assert request.partition_key == (now - dt.timedelta(hours=1)).strftime("%Y-%m-%d-%H:00")
    # A tick missed while the host was stopped overnight: its hour is no longer served, so nothing runs.
    missed = weather_hourly_schedule(dg.build_schedule_context(scheduled_execution_time=now - dt.timedelta(hours=8)))
    assert isinstance(missed, dg.SkipReason) and "no catch-up" in missed.skip_message
