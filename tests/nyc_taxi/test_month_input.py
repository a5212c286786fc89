"""docs/guarantees.md's NYC-taxi rows: a month file as people have it (empty, its header alone, a byte-order mark,
a trailing comma on every row, gzip-compressed, TLC's Parquet, two formats for one month), run through the real
monthly job on the DuckDB engine and on a real local Spark, with what the run says and what is left in the lake's
layers, the warehouse and the dbt model.

Every test starts from the same two loaded months (January and February 2020, loaded once on DuckDB and copied)
and changes February's file.
"""

import datetime as dt
import gzip
import io
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.defs.nyc_taxi.duckdb_engine import read_layer_sql
from pipeline.defs.nyc_taxi.layout import (
    CLEAR_EMPTY_MONTHS_TAG,
    CSV_COLUMNS,
    DROPPED,
    HEADER,
    fare_by_zone_folder,
    trips_folder,
)
from pipeline.defs.nyc_taxi.sample_data import TaxiSpec, generate_months
from pipeline.lib.lake import LocalLake
from tests.conftest import restarted_steps, warehouse_rows
from tests.nyc_taxi.test_spark_engine import SPARK_PYTHON
from tests.platform import materialize, run

JANUARY, FEBRUARY = dt.date(2020, 1, 1), dt.date(2020, 2, 1)
JOB = "nyc_taxi_monthly"


@pytest.fixture(scope="module")
def baseline(tmp_path_factory, sample_lake, extension_dir):
    """January and February loaded once on DuckDB (lake layers, warehouse, dbt): the folders a test copies."""
    root = tmp_path_factory.mktemp("month_input")
    months = generate_months(root / "nyc", TaxiSpec(months=2, trips_per_month=200))
    env = {
        "SPARKIFY_DATA_URI": str(sample_lake.root),
        "NYC_TAXI_DATA_URI": str(root / "nyc"),
        "NYC_TAXI_SPARK_PYTHON": str(SPARK_PYTHON),
        "WAREHOUSE": "duckdb",
        "DUCKDB_PATH": str(root / "warehouse.duckdb"),
        "DUCKDB_EXTENSION_DIR": str(extension_dir),
        "DAGSTER_HOME": str(root / "dagster_home"),
        "RETRY_DELAY_SECONDS": "0",  # a wrong retry shows as a restarted step, not as a wait
    }
    (root / "dagster_home").mkdir()
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        runs = materialize("nyc_taxi", JANUARY.isoformat(), FEBRUARY.isoformat())
    assert all(outcome.ok for _, outcome in runs), [outcome.errors for _, outcome in runs]
    return env, months


def _comparable(value):
    if isinstance(value, float):
        return round(value, 6)
    return Path(value).name if isinstance(value, str) and value.startswith("/") else value


@dataclass
class Platform:
    lake: Path

    @property
    def month_file(self) -> Path:
        return self.lake / "raw" / "nyc" / "green_tripdata_2020-02.csv"

    def layer(self, folder_of, month: dt.date) -> list[tuple]:
        """The layer's rows, doubles to the micro-unit (Spark sums a month's fares in another order than DuckDB),
        source_file by its name (the baseline's lake was elsewhere)."""
        with duckdb.connect() as connection:
            sql = f"select * from {read_layer_sql(LocalLake(self.lake), folder_of(month))} order by all"
            rows = connection.execute(sql).fetchall()
        return [tuple(_comparable(v) for v in row) for row in rows]

    def month_state(self, month: dt.date) -> dict[str, object]:
        """What the month is in every layer and table: the lake's staged trips and aggregate (rows), the
        warehouse's trips and aggregate and the dbt model (count and sum of fare)."""
        tables = {
            "nyc.green_trips": "month",
            "nyc.main_data": "month",
            "nyc_analytics.nyc_taxi": "cast(month as date)",
        }
        state = {
            table: warehouse_rows(
                f"select count(*), round(sum(fare_amount), 2) from {table} where {column} = date '{month}'"
            )
            for table, column in tables.items()
        }
        return state | {
            "staging": self.layer(trips_folder, month),
            "gold": self.layer(fare_by_zone_folder, month),
        }

    def state(self) -> dict[dt.date, dict[str, object]]:
        return {month: self.month_state(month) for month in (JANUARY, FEBRUARY)}


@pytest.fixture(params=["duckdb", "spark"])
def engine(request):
    return request.param


@pytest.fixture
def platform(baseline, engine, tmp_path, monkeypatch) -> Platform:
    """A copy of the loaded baseline (lake, warehouse, instance), its lake steps on the engine."""
    env, _ = baseline
    if engine == "spark":
        assert SPARK_PYTHON.exists(), "the Spark double is missing: run bash tests/install_servers.sh"
    copied = {
        "NYC_TAXI_DATA_URI": str(tmp_path / "nyc"),
        "DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
    }
    shutil.copytree(env["NYC_TAXI_DATA_URI"], copied["NYC_TAXI_DATA_URI"])
    shutil.copytree(env["DAGSTER_HOME"], copied["DAGSTER_HOME"])
    shutil.copy(env["DUCKDB_PATH"], copied["DUCKDB_PATH"])
    for name, value in (env | copied | {"NYC_TAXI_ENGINE": engine}).items():
        monkeypatch.setenv(name, value)
    return Platform(Path(copied["NYC_TAXI_DATA_URI"]))


def run_february(tags: dict[str, str] | None = None):
    return run(JOB, (FEBRUARY.isoformat(), FEBRUARY.isoformat()), tags)


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


LINE = 5  # the line a refused value is put on


def on_line(content: bytes, column: str, value: bytes, line: int = LINE) -> bytes:
    """The file with the line's `column` set to `value` (raw bytes: quoted, or not UTF-8)."""
    lines = content.split(b"\n")
    fields = lines[line - 1].split(b",")
    fields[CSV_COLUMNS.index(column)] = value
    lines[line - 1] = b",".join(fields)
    return b"\n".join(lines)


# What Sparkify's reader refuses in a day file, in a month file: (column, value, the error after "<uri>, line 5").
REFUSED = {
    "invalid-UTF-8": ("store_and_fwd_flag", b"N\xf6", ": not UTF-8 text: byte(s) f6 at column {at}"),
    "NUL-in-text": ("store_and_fwd_flag", b"N\x00", ", column store_and_fwd_flag: text contains a NUL character"),
    "bare-NaN": ("fare_amount", b"NaN", ", column fare_amount: expected a finite number, found NaN"),
    "Infinity-as-text": (
        "tip_amount",
        b'"-Infinity"',
        ", column tip_amount: expected a finite number, found -Infinity",
    ),
    # Arrow's reader takes NA, NULL or NaN for NULL by default: the fast path loaded them as no value.
    "NA-for-a-number": ("passenger_count", b"NA", ", column passenger_count: cannot read NA as integer"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_a_value_sparkify_refuses_fails_the_month_naming_file_line_and_column_on_both_engines(platform, case):
    column, value, problem = REFUSED[case]
    before = platform.state()
    content = on_line(platform.month_file.read_bytes(), column, value)
    platform.month_file.write_bytes(content)
    at = content.split(b"\n")[LINE - 1].find(value[1:2]) + 1  # the column of the byte that is not UTF-8

    outcome = run_february()

    assert not outcome.success
    expected = f"{platform.month_file}, line {LINE}{problem.format(at=at)}"
    assert any(expected in e for e in outcome.errors), outcome.errors
    assert not restarted_steps(outcome.run_id)
    assert platform.state() == before


def test_line_ends_blank_lines_and_unloaded_values_are_read_alike_by_both_engines(platform):
    before = platform.state()
    # What the pipeline does not load is not read for values: a NaN and a NUL in the dropped column.
    content = on_line(on_line(platform.month_file.read_bytes(), DROPPED, b"NaN"), DROPPED, b"\x00", LINE + 1)
    header, *rows = content.split(b"\n")
    ends = (b"\r\n", b"\r", b"\n")  # CRLF, a lone CR, LF, line after line
    mixed = b"".join(row + ends[n % 3] for n, row in enumerate([header, *rows[:8], b"", *rows[8:]]))
    platform.month_file.write_bytes(mixed)

    outcome = run_february()

    assert outcome.ok, outcome.errors
    assert {c.name: c.passed for c in outcome.checks}["staging/green_trips:every_csv_line_is_a_trip"]
    after = platform.state()
    assert after[JANUARY] == before[JANUARY]
    # The same trips; the blank line after line 9 moves the later ones down a line (source_row is second to last).
    moved = [(*row[:-2], row[-2] + (row[-2] > 9), row[-1]) for row in before[FEBRUARY]["staging"]]
    assert after[FEBRUARY] == before[FEBRUARY] | {"staging": moved}  # in the same order: no two trips tie


# Month files as people have them: gzip-compressed, or TLC's Parquet (since 2022), one file a month.


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
}


@pytest.mark.parametrize(
    ("engine", "case"),
    [
        ("duckdb", "missing-column"),
        ("duckdb", "text-for-a-double"),
        ("duckdb", "a-fraction-for-an-integer"),
        ("spark", "text-for-a-double"),
        ("spark", "a-fraction-for-an-integer"),
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
