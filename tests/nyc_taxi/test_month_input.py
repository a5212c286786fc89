"""docs/guarantees.md's NYC-taxi rows for a month of no trip, a byte-order mark and a trailing comma, run through
the real monthly job on the DuckDB engine and on a real local Spark, with what the run says and what is left in the
lake's layers, the warehouse and the dbt model.

Every test starts from the same two loaded months (January and February 2020, loaded once on DuckDB and copied:
conftest.py's `platform`) and changes February's file.
"""

import pytest

from pipeline.defs.nyc_taxi.layout import CLEAR_EMPTY_MONTHS_TAG, HEADER
from tests.conftest import restarted_steps
from tests.nyc_taxi.month_platform import FEBRUARY, JANUARY, run_february

# What an interrupted export or upload leaves; the last is larger than the files the kit reads to tell (4 KiB), so
# the engine's own count of trips refuses it.
NO_TRIP = {
    "zero-bytes": b"",
    "header-only": HEADER.encode() + b"\n",
    "header-and-empty-rows": HEADER.encode() + b"\n" + b",,,,,,,,,,,,,,,,,,,\n" * 300,
}


@pytest.mark.parametrize("content", NO_TRIP.values(), ids=NO_TRIP.keys())
def test_a_month_file_of_no_trip_fails_before_anything_is_replaced(platform, content):
    before = platform.state()
    platform.month_file.write_bytes(content)

    outcome = run_february()

    assert not outcome.success
    named = [e for e in outcome.errors if str(platform.month_file) in e]
    assert named and any(CLEAR_EMPTY_MONTHS_TAG in e for e in named), outcome.errors
    assert not restarted_steps(outcome.run_id)
    assert platform.state() == before  # both months, in every layer and table


@pytest.mark.parametrize("content", ["zero-bytes", "header-only"])
def test_a_month_is_cleared_only_on_purpose_by_a_tagged_run_over_its_emptied_file(platform, content):
    january = platform.month_state(JANUARY)
    platform.month_file.write_bytes(NO_TRIP[content])

    outcome = run_february({CLEAR_EMPTY_MONTHS_TAG: "true"})

    assert outcome.ok, outcome.errors
    assert platform.month_state(FEBRUARY) == {
        "nyc.green_trips": [(0, None)],
        "nyc.main_data": [(0, None)],
        "nyc_analytics.nyc_taxi": [(0, None)],
        "staging": [],
        "gold": [],
    }
    assert platform.month_state(JANUARY) == january


def test_a_byte_order_mark_is_skipped_by_both_engines_and_the_check_alike(platform):
    before = platform.state()
    platform.month_file.write_bytes(b"\xef\xbb\xbf" + platform.month_file.read_bytes())

    outcome = run_february()

    assert outcome.ok, outcome.errors
    assert {c.name: c.passed for c in outcome.checks}["staging/green_trips:every_csv_line_is_a_trip"]
    assert platform.state() == before  # the same trips, from the same lines


def test_a_trailing_comma_on_every_row_is_refused_naming_file_line_and_count(platform):
    before = platform.state()
    header, *rows = platform.month_file.read_text().split("\n")
    platform.month_file.write_text("\n".join([header, *(row + "," if row else row for row in rows)]))

    outcome = run_february()

    assert not outcome.success
    problem = f"{platform.month_file}, line 2: expected 20 columns, found 21"
    assert any(problem in e for e in outcome.errors), outcome.errors
    assert platform.state() == before
