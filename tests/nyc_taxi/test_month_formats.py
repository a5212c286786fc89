"""docs/guarantees.md's NYC-taxi rows for month files as people have them: gzip-compressed, TLC's Parquet (since
2022), two formats for one month, a format not read, run through the real monthly job on both engines.

Every test starts from the same two loaded months (conftest.py's `platform`) and changes February's file.
"""

import gzip
import io
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.defs.nyc_taxi.layout import CLEAR_EMPTY_MONTHS_TAG, CSV_COLUMNS, HEADER
from pipeline.defs.nyc_taxi.sample_data import TaxiSpec, generate_months
from tests.conftest import restarted_steps
from tests.nyc_taxi.month_platform import FEBRUARY, JANUARY, Platform, run_february


def _renamed(rows: list[tuple], name: str, row_shift: int = 0) -> Counter:
    """Staged rows as read from another file of the same trips: its name as source_file (third from last),
    source_row shifted (a Parquet row is its CSV line less the header)."""
    return Counter((*row[:-3], name, row[-2] + row_shift, row[-1]) for row in rows)


def _same_month_from(platform: Platform, before: dict, name: str, row_shift: int = 0) -> None:
    """February is what it was, read from `name`: the same trips and aggregate, in the lake and every table."""
    after = platform.state()
    assert after[JANUARY] == before[JANUARY]
    expected = before[FEBRUARY] | {"staging": _renamed(before[FEBRUARY]["staging"], name, row_shift)}
    assert after[FEBRUARY] | {"staging": Counter(after[FEBRUARY]["staging"])} == expected


def test_a_compressed_month_is_read_as_its_csv(platform):
    before = platform.state()
    compressed = platform.month_file.with_name(platform.month_file.name + ".gz")
    compressed.write_bytes(gzip.compress(platform.month_file.read_bytes()))
    platform.month_file.unlink()

    outcome = run_february()

    assert outcome.ok, outcome.errors
    assert {c.name: c.passed for c in outcome.checks}["staging/green_trips:every_csv_line_is_a_trip"]
    _same_month_from(platform, before, compressed.name)


def tlc_parquet(platform: Platform, change=None) -> Path:
    """February's trips as TLC publishes a month today, in place of its CSV: generated as Parquet (integer columns
    as doubles, an untyped all-null ehail_fee), with a later year's column first (cbd_congestion_fee, 2025) and
    the others in reverse order, so that a column read by position would be shifted; `change` edits the table."""
    [written] = generate_months(
        platform.lake, TaxiSpec(months=1, trips_per_month=200, first_month=FEBRUARY, format="parquet")
    )
    table = pq.read_table(written.path)
    table = table.select(list(reversed(table.column_names)))
    table = table.add_column(0, "cbd_congestion_fee", pa.array([0.75] * table.num_rows))
    pq.write_table(change(table) if change else table, written.path)
    platform.month_file.unlink()
    return written.path


def test_a_tlc_parquet_month_loads_the_rows_of_its_csv(platform):
    before = platform.state()
    parquet = tlc_parquet(platform)

    outcome = run_february()

    assert outcome.ok, outcome.errors
    assert {c.name: c.passed for c in outcome.checks}["staging/green_trips:every_csv_line_is_a_trip"]
    _same_month_from(platform, before, parquet.name, row_shift=-1)  # row 1 is the CSV's line 2


def _set(name: str, values):
    return lambda table: table.set_column(table.column_names.index(name), name, values(table))


OFF_CONTRACT = {
    "missing-column": (
        lambda table: table.drop_columns(["fare_amount"]),
        ": no column fare_amount (a Parquet month's columns are read by name)",
    ),
    "text-for-a-double": (
        _set("fare_amount", lambda table: table["fare_amount"].cast(pa.string())),
        ", column fare_amount: a ",  # the file's type as the engine names it: varchar, string
    ),
    "a-fraction-for-an-integer": (
        _set("passenger_count", lambda table: pa.array([1.0] * 5 + [1.5] + [2.0] * (table.num_rows - 6))),
        ", row 6, column passenger_count: cannot read 1.5 as integer",
    ),
    # What a CSV month refuses in a value (test_month_reading.py), a Parquet month refuses too.
    "a-NaN-for-a-double": (
        _set("fare_amount", lambda table: pa.array([9.5] * 5 + [float("nan")] + [9.5] * (table.num_rows - 6))),
        ", row 6, column fare_amount: expected a finite number, found NaN",
    ),
    "a-NUL-in-text": (
        _set("store_and_fwd_flag", lambda table: pa.array(["N"] * 5 + ["N\x00"] + ["N"] * (table.num_rows - 6))),
        ", row 6, column store_and_fwd_flag: text contains a NUL character",
    ),
}


@pytest.mark.parametrize(
    ("engine", "case"),
    [
        ("duckdb", "missing-column"),
        ("duckdb", "text-for-a-double"),
        ("duckdb", "a-fraction-for-an-integer"),
        ("spark", "text-for-a-double"),
        ("spark", "a-fraction-for-an-integer"),
        ("duckdb", "a-NaN-for-a-double"),
        ("duckdb", "a-NUL-in-text"),
        ("spark", "a-NaN-for-a-double"),
        ("spark", "a-NUL-in-text"),
    ],
    indirect=["engine"],
)
def test_a_parquet_month_off_the_contract_is_refused_naming_file_and_column(platform, case):
    before = platform.state()
    change, problem = OFF_CONTRACT[case]
    parquet = tlc_parquet(platform, change)

    outcome = run_february()

    assert not outcome.success
    assert any(f"{parquet}{problem}" in e for e in outcome.errors), outcome.errors
    assert not restarted_steps(outcome.run_id)
    assert platform.state() == before


@pytest.mark.parametrize("engine", ["duckdb"], indirect=True)  # the month's files are found before any engine runs
@pytest.mark.parametrize("other", ["csv.gz", "parquet"])
def test_two_formats_for_one_month_fail_naming_both_and_change_nothing(platform, other):
    before = platform.state()
    second = platform.month_file.with_name(f"green_tripdata_2020-02.{other}")
    second.write_bytes(platform.month_file.read_bytes())  # its content is never read: two files are refused first

    outcome = run_february()

    assert not outcome.success
    problem = f"one month file per partition: 2020-02-01 has {platform.month_file} and {second}"
    assert any(problem in e for e in outcome.errors), outcome.errors
    assert platform.state() == before


def _no_row_parquet() -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.table({column: pa.array([], pa.float64()) for column in CSV_COLUMNS}), sink)
    return sink.getvalue()


NO_TRIP_FORMATS = {
    "csv.gz": lambda: gzip.compress(HEADER.encode() + b"\n"),
    "parquet": _no_row_parquet,
}


@pytest.mark.parametrize("engine", ["duckdb"], indirect=True)  # the kit's check, before any engine runs
@pytest.mark.parametrize("other", NO_TRIP_FORMATS)
def test_a_compressed_header_or_a_parquet_of_no_row_is_a_month_of_no_trip(platform, other):
    before = platform.state()
    empty = platform.month_file.with_name(f"green_tripdata_2020-02.{other}")
    empty.write_bytes(NO_TRIP_FORMATS[other]())
    platform.month_file.unlink()

    outcome = run_february()

    assert not outcome.success
    named = [e for e in outcome.errors if f"month file is empty: 2020-02-01 ({empty})" in e]
    assert named and any(CLEAR_EMPTY_MONTHS_TAG in e for e in named), outcome.errors
    assert platform.state() == before


@pytest.mark.parametrize("engine", ["duckdb"], indirect=True)  # the month file is found before any engine runs
def test_a_month_in_a_format_not_read_is_named_with_the_formats_read(platform):
    before = platform.state()
    other = platform.month_file.with_name(platform.month_file.name + ".bz2")
    other.write_bytes(b"BZh9")  # never opened: its name says it is no month file
    platform.month_file.unlink()

    outcome = run_february()

    assert not outcome.success
    expected = "green_tripdata_2020-02.csv.bz2, not read: a month file is read as .csv or .csv.gz or .parquet only"
    assert any(str(platform.month_file) in e and expected in e for e in outcome.errors), outcome.errors
    assert platform.state() == before
