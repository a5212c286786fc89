"""The green-taxi generator writes TLC month files with every quirk of the real ones, in every file.

Expectations come from the spec and from reading the files back (csv module, duckdb), never from the generator's
own internals.
"""

import csv
import dataclasses
import datetime
import gzip
import re
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from pipeline.defs.nyc_taxi.layout import CSV_COLUMNS, csv_key
from pipeline.defs.nyc_taxi.sample_data import TaxiSpec, generate_months, main

SMALL = TaxiSpec(months=2, trips_per_month=200, first_month=datetime.date(2020, 12, 1), seed=3)
HEADER = ",".join(CSV_COLUMNS)
COLUMN = {name: index for index, name in enumerate(CSV_COLUMNS)}
MONEY = r"-?\d+\.\d{2}"
FORMATS = {
    "VendorID": r"|[12]",
    "lpep_pickup_datetime": r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}",
    "lpep_dropoff_datetime": r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}",
    "store_and_fwd_flag": r"|N|Y",
    "RatecodeID": r"|[1-6]",
    "PULocationID": r"[1-9]\d{0,2}",
    "DOLocationID": r"[1-9]\d{0,2}",
    "passenger_count": r"|\d",
    "trip_distance": r"\d+(\.\d{1,2})?",
    "fare_amount": MONEY,
    "extra": MONEY,
    "mta_tax": MONEY,
    "tip_amount": MONEY,
    "tolls_amount": MONEY,
    "ehail_fee": r"",
    "improvement_surcharge": MONEY,
    "total_amount": MONEY,
    "payment_type": r"|[1-5]",
    "trip_type": r"|[12]",
    "congestion_surcharge": r"|0\.00|2\.75",
}
# The TLC's rows without a vendor have all of these empty together.
UNKNOWN_VENDOR_EMPTY = (
    "VendorID",
    "store_and_fwd_flag",
    "RatecodeID",
    "passenger_count",
    "payment_type",
    "trip_type",
    "congestion_surcharge",
)
AMOUNTS = ("fare_amount", "extra", "mta_tax", "tip_amount", "tolls_amount", "improvement_surcharge")


def read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    """The header and the trip rows; the blank last line must be there (csv gives it as [])."""
    with open(path, newline="", encoding="ascii") as handle:
        records = list(csv.reader(handle))
    assert records[-1] == [], "no blank last line"
    return records[0], records[1:-1]


def column(rows: list[list[str]], name: str) -> list[str]:
    return [row[COLUMN[name]] for row in rows]


def stamp(text: str) -> datetime.datetime:
    return datetime.datetime.strptime(text, "%Y-%m-%d %H:%M:%S")


def tree(root: Path) -> dict[str, bytes]:
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return generate_months(tmp_path_factory.mktemp("small"), SMALL)


def test_months_are_consecutive_and_named_by_csv_key(tmp_path):
    spec = TaxiSpec(months=3, trips_per_month=20, first_month=datetime.date(2020, 11, 1))
    files = generate_months(tmp_path, spec)
    months = [datetime.date(2020, 11, 1), datetime.date(2020, 12, 1), datetime.date(2021, 1, 1)]
    assert [month_file.month for month_file in files] == months
    assert [month_file.path for month_file in files] == [tmp_path / csv_key(month) for month in months]
    assert sorted(tree(tmp_path)) == sorted(csv_key(month) for month in months)  # no partial files left


def test_header_counts_and_blank_last_line(small):
    for month_file in small:
        data = month_file.path.read_bytes()
        header, rows = read_rows(month_file.path)
        assert header == list(CSV_COLUMNS)
        assert data.startswith(HEADER.encode() + b"\n")
        assert data.count(HEADER.encode()) == 1
        assert len(rows) == month_file.data_rows == SMALL.trips_per_month
        assert all(len(row) == len(CSV_COLUMNS) for row in rows)
        # A trailing newline and then exactly one blank line.
        assert data.endswith(b"\n\n") and not data.endswith(b"\n\n\n")
        assert month_file.lines == data.count(b"\n") == SMALL.trips_per_month + 2


def test_values_are_written_as_the_tlc_writes_them(small):
    for month_file in small:
        _, rows = read_rows(month_file.path)
        for name, pattern in FORMATS.items():
            bad = [value for value in column(rows, name) if not re.fullmatch(pattern, value)]
            assert not bad, f"{name}: {bad[:5]}"
        for row in rows:
            assert 1 <= int(row[COLUMN["PULocationID"]]) <= 265
            assert 1 <= int(row[COLUMN["DOLocationID"]]) <= 265
            minutes = (stamp(row[2]) - stamp(row[1])).total_seconds() / 60
            assert 1 <= minutes <= 90
            parts = [row[COLUMN[name]] for name in (*AMOUNTS, "congestion_surcharge")]
            assert Decimal(row[COLUMN["total_amount"]]) == sum(Decimal(part or "0") for part in parts)


@pytest.mark.parametrize("trips", [200, 20])
def test_every_quirk_is_in_every_month(tmp_path, trips):
    spec = dataclasses.replace(SMALL, trips_per_month=trips)
    for month_file in generate_months(tmp_path, spec):
        _, rows = read_rows(month_file.path)
        assert set(column(rows, "ehail_fee")) == {""}
        # Unknown-vendor rows: a few, with their fields empty together, and no other row has an empty one.
        unknown = [row for row in rows if row[COLUMN["VendorID"]] == ""]
        assert unknown
        assert all(row[COLUMN[name]] == "" for row in unknown for name in UNKNOWN_VENDOR_EMPTY)
        for name in UNKNOWN_VENDOR_EMPTY:
            assert sum(value == "" for value in column(rows, name)) == len(unknown), name
        flags = column(rows, "store_and_fwd_flag")
        assert "Y" in flags and flags.count("N") > flags.count("Y")
        assert set(column(rows, "congestion_surcharge")) == {"", "0.00", "2.75"}
        # Refunds: the fare and the total negative together, no amount positive.
        refunds = [row for row in rows if row[COLUMN["fare_amount"]].startswith("-")]
        assert refunds
        for row in refunds:
            assert Decimal(row[COLUMN["total_amount"]]) < 0
            assert all(Decimal(row[COLUMN[name]]) <= 0 for name in AMOUNTS)
        # Late records on the previous month's last day, and exactly one trip of the next month.
        start = datetime.datetime.combine(month_file.month, datetime.time())
        end = datetime.datetime.combine(
            (month_file.month + datetime.timedelta(days=32)).replace(day=1), datetime.time()
        )
        pickups = [stamp(value) for value in column(rows, "lpep_pickup_datetime")]
        before = [pickup for pickup in pickups if pickup < start]
        assert before and all(pickup.date() == month_file.month - datetime.timedelta(days=1) for pickup in before)
        assert len([pickup for pickup in pickups if pickup >= end]) == 1


def test_duckdb_reads_every_trip_typed(small):
    for month_file in small:
        relation = duckdb.sql(f"select * from read_csv('{month_file.path}', header = true)")
        types = dict(zip(relation.columns, map(str, relation.types), strict=True))
        assert relation.columns == list(CSV_COLUMNS)
        assert types["VendorID"] == types["passenger_count"] == types["PULocationID"] == "BIGINT"
        assert types["lpep_pickup_datetime"] == types["lpep_dropoff_datetime"] == "TIMESTAMP"
        assert types["fare_amount"] == types["total_amount"] == types["congestion_surcharge"] == "DOUBLE"
        counts = duckdb.sql(
            f"""
            select count(*), count(ehail_fee), count(*) - count(passenger_count),
                count(*) filter (where fare_amount < 0 and total_amount < 0),
                min(least(PULocationID, DOLocationID)), max(greatest(PULocationID, DOLocationID)),
                bool_and(payment_type between 1 and 5), bool_and(trip_type in (1, 2)),
                max(abs(total_amount - (fare_amount + extra + mta_tax + tip_amount + tolls_amount
                    + improvement_surcharge + coalesce(congestion_surcharge, 0))))
            from read_csv('{month_file.path}', header = true)
            """
        ).fetchone()
        rows, ehail, no_passengers, refunds, low_zone, high_zone, payments_ok, trip_types_ok, total_error = counts
        assert rows == month_file.data_rows
        assert ehail == 0 and no_passengers > 0 and refunds > 0
        assert low_zone >= 1 and high_zone <= 265
        assert payments_ok and trip_types_ok
        assert total_error < 0.005


def test_same_spec_same_bytes_other_seed_other_bytes(tmp_path, small):
    generate_months(tmp_path / "again", SMALL)
    generate_months(tmp_path / "other", dataclasses.replace(SMALL, seed=SMALL.seed + 1))
    first = tree(small[0].path.parents[2])
    assert tree(tmp_path / "again") == first
    other = tree(tmp_path / "other")
    assert other.keys() == first.keys()
    assert all(other[key] != first[key] for key in first)


def test_repeated_header_appears_once_mid_file(tmp_path):
    spec = TaxiSpec(months=1, trips_per_month=200, repeated_header=True)
    (month_file,) = generate_months(tmp_path, spec)
    lines = month_file.path.read_text().split("\n")
    positions = [index for index, line in enumerate(lines) if line == HEADER]
    assert len(positions) == 2 and positions[0] == 0
    assert 0.25 < positions[1] / len(lines) < 0.75
    _, rows = read_rows(month_file.path)
    trips = [row for row in rows if row != list(CSV_COLUMNS)]
    assert len(trips) == month_file.data_rows == len(rows) - 1 == 200
    assert month_file.lines == len(lines) - 1 == 203  # the split's last element follows the final newline


def test_cli_writes_the_spec_quietly(tmp_path, capsys):
    assert main([str(tmp_path / "cli"), "--months", "2", "--trips-per-month", "20", "--first-month", "2021-03"]) == 0
    out, err = capsys.readouterr()
    assert err == ""  # no progress below 200,000 trips a month
    spec = TaxiSpec(months=2, trips_per_month=20, first_month=datetime.date(2021, 3, 1))
    expected = generate_months(tmp_path / "api", spec)
    assert tree(tmp_path / "cli") == tree(tmp_path / "api")
    for month_file in expected:
        assert csv_key(month_file.month) in out


def test_progress_goes_to_stderr(tmp_path, capsys):
    generate_months(tmp_path, TaxiSpec(months=1, trips_per_month=20), progress=True)
    assert "100%" in capsys.readouterr().err


@pytest.mark.parametrize(
    "changes",
    [{"months": 0}, {"trips_per_month": 4}, {"first_month": datetime.date(2020, 1, 15)}],
)
def test_bad_specs_are_refused(tmp_path, changes):
    with pytest.raises(ValueError):
        generate_months(tmp_path, dataclasses.replace(TaxiSpec(), **changes))
    assert not any(tmp_path.iterdir())


def test_cli_refuses_a_bad_month(tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path), "--first-month", "2021-13"])
    assert exit_info.value.code == 2


def test_each_format_holds_the_same_trips_and_parquet_is_typed_as_the_tlc_types_it(tmp_path, small, capsys):
    """--format csv.gz is the CSV's bytes compressed (the same each time); --format parquet the same trips, named
    and typed as TLC's Parquet files: integer columns as doubles or bigints, an untyped all-null ehail_fee."""
    argv = ["--months", "2", "--trips-per-month", "200", "--first-month", "2020-12", "--seed", "3"]
    for month_format in ("csv.gz", "parquet"):
        assert main([str(tmp_path / month_format), *argv, "--format", month_format]) == 0
    for month_file in small:
        name = month_file.path.relative_to(month_file.path.parents[2]).as_posix()
        compressed = tmp_path / "csv.gz" / f"{name}.gz"
        assert gzip.decompress(compressed.read_bytes()) == month_file.path.read_bytes()
        parquet = (tmp_path / "parquet" / name).with_suffix(".parquet")
        with duckdb.connect() as connection:
            described = connection.execute(f"describe select * from read_parquet('{parquet}')").fetchall()
            types = {column: kind for column, kind, *_ in described}
            [trips] = connection.execute(f"select count(*) from read_parquet('{parquet}')").fetchone()
        assert list(types) == list(CSV_COLUMNS) and trips == month_file.data_rows
        assert types["passenger_count"] == types["trip_type"] == "DOUBLE" and types["VendorID"] == "BIGINT"
        assert types["lpep_pickup_datetime"] == "TIMESTAMP"
    assert "(200 lines) to" in capsys.readouterr().out  # a Parquet month's rows, no header
    [again] = generate_months(tmp_path / "again", dataclasses.replace(SMALL, months=1, format="csv.gz"))
    assert again.path.read_bytes() == (tmp_path / "csv.gz" / f"{csv_key(SMALL.first_month)}.gz").read_bytes()
