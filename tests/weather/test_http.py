"""HTTP that cannot leak or hang (docs/weather.md): the API's key goes to no other origin on a redirect, and a
body trickling a byte at a time is cut at the request's deadline and retried within the call's retry budget.
Real servers on loopback: the demo API as its own process, and a second server recording what reaches it."""

import os
import time

import pytest

from pipeline.defs.weather.layout import cocktails_key, weather_key
from pipeline.defs.weather.partitions import KEY_FORMAT
from pipeline.lib.http_api import ApiClient, ApiError, RateLimiter, RetryBudget
from tests.platform import run
from tests.weather.other_origin import RecordingServer

KEY = "secret-rapidapi-key"
# What a loaded 2-core machine may add to a deadline: scheduling, the step's own work around the request.
MARGIN_S = 1.5


def run_hour(hour):
    key = hour.strftime(KEY_FORMAT)
    return run("weather_hourly", (key, key))


def test_a_redirect_to_another_origin_is_not_followed_and_the_key_never_reaches_it(
    weather_env, api_server, current_hour, monkeypatch
):
    monkeypatch.setenv("WEATHER_API_KEY", KEY)
    with RecordingServer() as other:
        api_server.fault(path="/weather", kind="redirect", location=f"{other.url}/weather/current.json", times=-1)

        outcome = run_hour(current_hour)

    assert [path for path, headers in other.requests if KEY in headers.values()] == []  # the key never arrived
    assert other.requests == []  # nor did anything else
    assert not outcome.ok
    [error] = [e for e in outcome.errors if e.startswith("raw__weather")]
    assert f"HTTP 302: {api_server.url}/weather/current.json redirected to {other.url}, another origin than " in error
    assert f"another origin than {api_server.url}: not followed" in error
    assert KEY not in error
    assert not os.path.isfile(f"{weather_env['API_DATA_URI']}/{weather_key(current_hour, 'Tokyo')}")


def test_a_redirect_within_the_origin_is_followed_and_keeps_the_key():
    # Passes on today's main as well: it guards what the rule above must not break.
    with (
        RecordingServer(body=b'["Tokyo"]', redirects={"/moved": "/cities"}) as server,
        ApiClient(RateLimiter(50), {"X-RapidAPI-Key": KEY}) as client,
    ):
        _, cities = client.get_json(f"{server.url}/moved", "the city list")

    assert cities == ["Tokyo"]
    assert [(path, headers.get("x-rapidapi-key")) for path, headers in server.requests] == [
        ("/moved", KEY),
        ("/cities", KEY),
    ]


def test_a_trickling_body_is_cut_at_the_deadline_naming_the_url_and_the_deadline(api_server):
    api_server.reset()
    api_server.fault(path="/cities", kind="trickle", interval=0.3, seconds=20, times=1)
    started = time.monotonic()
    with (
        ApiClient(RateLimiter(50), budget=RetryBudget(attempts=1), deadline=1.5) as client,
        pytest.raises(ApiError) as error,
    ):
        client.get_json(f"{api_server.url}/cities", "the city list")
    elapsed = time.monotonic() - started

    assert 1.5 <= elapsed <= 1.5 + MARGIN_S
    assert str(error.value) == (
        f"the city list: no response: {api_server.url}/cities did not answer in full within its deadline of 1.5 s"
    )
    assert error.value.retryable  # transient, like a read timeout


def test_a_call_whose_every_answer_trickles_ends_within_its_retry_budget(api_server):
    api_server.reset()
    api_server.fault(path="/cities", kind="trickle", interval=0.3, seconds=20, times=-1)
    budget = RetryBudget(attempts=10, seconds=3, backoff_initial=0.01)
    started = time.monotonic()
    with ApiClient(RateLimiter(50), budget=budget, deadline=2) as client, pytest.raises(ApiError) as error:
        client.get_json(f"{api_server.url}/cities", "the city list")
    elapsed = time.monotonic() - started

    assert 3 <= elapsed <= 3 + MARGIN_S  # the last attempt's deadline is what was left of the budget
    assert "left of its 3 s retry budget" in str(error.value) and error.value.retryable
    assert len([p for _, p, _ in api_server.requests() if p == "/cities"]) >= 2  # cut, then retried


def test_an_hour_whose_answer_trickles_is_cut_at_each_deadline_retried_and_fails_as_transient(
    weather_env, api_server, current_hour, monkeypatch
):
    monkeypatch.setenv("API_REQUEST_DEADLINE_SECONDS", "2")
    api_server.fault(path="/cocktails", kind="trickle", interval=0.5, seconds=20, times=-1)

    outcome = run_hour(current_hour)

    assert not outcome.ok
    [error] = [e for e in outcome.errors if e.startswith("raw__cocktails")]
    assert (
        f"the latest cocktails: no response: {api_server.url}/cocktails/latest.php did not answer in full "
        "within its deadline of 2 s"
    ) in error
    assert not os.path.isfile(f"{weather_env['API_DATA_URI']}/{cocktails_key(current_hour)}")
    # The client's budget: 5 attempts, each cut at 2 s, the n-th wait 2**(n-1) s plus up to 1 s of jitter.
    starts = sorted(t for t, path, _ in api_server.requests() if path == "/cocktails/latest.php")
    assert len(starts) == 5
    for n, (first, then) in enumerate(zip(starts, starts[1:], strict=False), start=1):
        assert 2 <= then - first <= 2 + 2 ** (n - 1) + 1 + MARGIN_S, (n, then - first)
    # The weather half of the hour is unaffected.
    assert os.path.isfile(f"{weather_env['API_DATA_URI']}/{weather_key(current_hour, 'Tokyo')}")
