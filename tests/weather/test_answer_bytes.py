"""docs/guarantees.md's weather rows: an answer whose bytes no reader of the platform would take as they are (a
byte-order mark, bytes that are not UTF-8, a NUL in text, NaN or Infinity), served by the demo API on loopback
to the real hourly job. Each edits the first weather answer served, whichever city asked for it."""

import os

import pytest

from pipeline.defs.weather.layout import weather_key
from pipeline.defs.weather.partitions import KEY_FORMAT
from tests.conftest import platform_rows
from tests.platform import run

CITIES = ["Tokyo", "São Paulo", "New York", "Zürich", "Mexico City"]


def run_hour(hour):
    key = hour.strftime(KEY_FORMAT)
    return run("weather_hourly", (key, key))


def stored_cities(env, hour) -> list[str]:
    return [c for c in CITIES if os.path.isfile(f"{env['API_DATA_URI']}/{weather_key(hour, c)}")]


def edit(old: bytes = b"", new: bytes = b"", prefix: bytes = b"") -> dict:
    return {"kind": "edit", "old_hex": old.hex(), "new_hex": new.hex(), "prefix_hex": prefix.hex()}


REFUSED = {
    # Passes on today's main as well (a number as text was refused already): it guards the row.
    "NaN-as-text": (
        edit(b'"temp_f": ', b'"temp_f": "NaN", "was": '),
        "HTTP 200: current.temp_f is not a number: 'NaN'",
    ),
    "bare-NaN": (
        edit(b'"temp_f": ', b'"temp_f": NaN, "was": '),
        "HTTP 200: the body, field 'current.temp_f': NaN is not valid JSON (no warehouse stores it as a number)",
    ),
    "bare-Infinity": (
        edit(b'"humidity": ', b'"humidity": -Infinity, "was": '),
        "HTTP 200: the body, field 'current.humidity': -Infinity is not valid JSON",
    ),
    "invalid-UTF-8": (
        edit(b'{"location": {"name": "', b'{"location": {"name": "\xf6'),
        "HTTP 200: the body, line 1: not UTF-8 text: byte(s) f6 at column 24",
    ),
    "NUL-in-text": (
        edit(b'"region": "', b'"region": "\\u0000'),
        "HTTP 200: the body, field 'location.region': text contains a NUL character (\\u0000)",
    ),
}


def test_an_answer_with_a_byte_order_mark_is_read_as_without_it(weather_env, api_server, current_hour):
    api_server.fault(path="/weather/current.json", times=1, **edit(prefix="\ufeff".encode()))

    outcome = run_hour(current_hour)

    assert outcome.ok, outcome.errors
    assert stored_cities(weather_env, current_hour) == CITIES  # as served, the mark included
    weather = platform_rows(("duckdb", weather_env), "select location_name from api_analytics.weather")
    assert sorted(weather) == sorted((city,) for city in CITIES)


@pytest.mark.parametrize("case", REFUSED)
def test_an_answer_no_warehouse_stores_as_it_is_is_refused_naming_it_and_never_stored(
    weather_env, api_server, current_hour, case
):
    fault, expected = REFUSED[case]
    api_server.fault(path="/weather/current.json", times=1, **fault)

    outcome = run_hour(current_hour)

    assert not outcome.ok
    [error] = [e for e in outcome.errors if e.startswith("raw__weather")]
    assert expected in error, error
    weather_calls = [path for _, path, _ in api_server.requests() if path.startswith("/weather")]
    assert len(weather_calls) == 5  # each city asked once: an answer that is not data is not retried
    assert len(stored_cities(weather_env, current_hour)) == 4  # the bad answer was never stored
