"""The NYC-taxi pipeline end to end on DuckDB and on a real Postgres server, as `python -m pipeline materialize
--group nyc_taxi` runs it: the warehouse's tables equal what is computed here from the CSVs with the csv
module, a re-run changes nothing, and a bad line fails its month naming file, line and column."""

import csv
import datetime as dt
import os
from collections import defaultdict
from decimal import Decimal

import dagster as dg
import pytest

from pipeline.defs.nyc_taxi.layout import csv_key
from tests.conftest import platform_rows, warehouse_rows
from tests.platform import materialize as materialize_group
from tests.platform import recorded_metadata


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request, nyc_lake):
    if request.param == "postgres":
        request.getfixturevalue("postgres_env")
    return request.param


def materialize(first: str, last: str):
    runs = materialize_group("nyc_taxi", first, last)
    return runs[-1][1]


def _number(text: str):
    return None if text == "" else int(text)


def expected_fare_by_zone(month_file) -> list[tuple]:
    """The original's groupBy, read here from the CSV: (month, zone, trip type, payment type, fare, trips)."""
    groups = defaultdict(lambda: [Decimal(0), 0])
    with open(month_file.path, newline="") as stream:
        for row in csv.DictReader(stream):
            if not row["VendorID"] and not row["lpep_pickup_datetime"]:
                continue  # the trailing blank line
            key = (_number(row["PULocationID"]), _number(row["trip_type"]), _number(row["payment_type"]))
            groups[key][0] += Decimal(row["fare_amount"])
            groups[key][1] += 1
    return _by_key([(month_file.month, *key, float(fare), trips) for key, (fare, trips) in groups.items()])


def _by_key(rows):
    return sorted(rows, key=lambda r: tuple((v is None, v if v is not None else 0) for v in r))


def main_data() -> list[tuple]:
    rows = warehouse_rows("select month, pulocationid, trip_type, payment_type, fare_amount, trips from nyc.main_data")
    return _by_key([(m, z, t, p, round(f, 2), n) for m, z, t, p, f, n in rows])


def recorded_uris(key: str, observed: bool = False) -> set[str]:
    """The dagster/uri of every materialization (or observation) of the asset in this test's instance."""
    instance, asset_key = dg.DagsterInstance.get(), dg.AssetKey(key.split("/"))
    if observed:
        return {
            r.asset_observation.metadata["dagster/uri"].value
            for r in instance.fetch_observations(asset_key, 100).records
        }
    return {
        r.asset_materialization.metadata["dagster/uri"].value
        for r in instance.fetch_materializations(asset_key, 100).records
    }


def test_three_months_load_as_computed_from_the_csv_and_a_rerun_changes_nothing(warehouse, nyc_lake):
    outcome = materialize("2020-01-01", "2020-03-01")
    assert outcome.ok, outcome.errors
    checks = {c.name: c.passed for c in outcome.checks}
    assert checks["staging/green_trips:every_csv_line_is_a_trip"]
    assert checks["gold/fare_by_zone:total_fare_matches_trips"]
    assert checks["nyc_analytics/calendar_date:calendar_date_is_14000_consecutive_days"]
    # Where each layer is: a month's file observed per month, each layer's prefix on its materializations.
    root = nyc_lake[0].path.parents[2]
    assert recorded_uris("raw/green_tripdata", observed=True) == {str(m.path) for m in nyc_lake}
    assert recorded_uris("raw/green_tripdata") == {str(root / "raw" / "nyc")}
    assert recorded_uris("staging/green_trips") == {str(root / "staging" / "nyc")}
    assert recorded_uris("gold/fare_by_zone") == {str(root / "gold" / "nyc")}

    per_month = warehouse_rows("select month, count(*) from nyc.green_trips group by month order by month")
    assert per_month == [(m.month, m.data_rows) for m in nyc_lake]
    # Each month's materialization records the month's own rows, loaded (nyc/*) and built by dbt.
    for key in (["nyc", "green_trips"], ["nyc", "main_data"], ["nyc_analytics", "nyc_taxi"]):
        for m in nyc_lake:
            [metadata] = recorded_metadata(key, m.month.isoformat())
            [(in_table,)] = warehouse_rows(f"select count(*) from {'.'.join(key)} where month = date '{m.month}'")
            assert metadata["dagster/partition_row_count"] == in_table > 0, (key, m.month)
    assert main_data() == _by_key([row for m in nyc_lake for row in expected_fare_by_zone(m)])
    # Lineage: every trip knows its file and line; a line of the file is the trip loaded from it.
    first = nyc_lake[0]
    line_5 = open(first.path).read().split("\n")[4].split(",")
    [(fare, zone)] = warehouse_rows(
        f"select fare_amount, pulocationid from nyc.green_trips where source_row = 5 and month = date '{first.month}'"
    )
    assert (fare, zone) == (float(line_5[9]), _number(line_5[5]))
    assert warehouse_rows("select count(*), min(cal_date), max(cal_date) from nyc_analytics.calendar_date") == [
        (14000, dt.date(1987, 1, 1), dt.date(1987, 1, 1) + dt.timedelta(days=13999))
    ]
    assert warehouse_rows("select count(*) from nyc_analytics.nyc_taxi") == [(sum(m.data_rows for m in nyc_lake),)]

    before = (main_data(), warehouse_rows("select count(*), sum(fare_amount) from nyc.green_trips"))
    assert materialize("2020-02-01", "2020-02-01").ok
    assert (main_data(), warehouse_rows("select count(*), sum(fare_amount) from nyc.green_trips")) == before


def test_a_bad_value_fails_its_month_naming_file_line_and_column_and_changes_nothing(nyc_lake, pipeline_env):
    assert materialize("2020-01-01", "2020-01-01").ok
    before = warehouse_rows("select count(*), sum(fare_amount) from nyc.green_trips")
    month = nyc_lake[0]
    lines = month.path.read_text().split("\n")
    fields = lines[6].split(",")
    fields[8] = "x" + fields[8]  # trip_distance
    lines[6] = ",".join(fields)
    month.path.write_text("\n".join(lines))

    outcome = materialize("2020-01-01", "2020-01-01")

    assert not outcome.success
    uri = str(month.path)
    assert any(f"{uri}, line 7, column trip_distance: cannot read x" in e for e in outcome.errors), outcome.errors
    assert warehouse_rows("select count(*), sum(fare_amount) from nyc.green_trips") == before
    assert csv_key(month.month) in uri


@pytest.fixture(params=["snowflake", "bigquery"])
def cloud_platform(request, nyc_lake, monkeypatch):
    """The cloud warehouses' doubles: Snowflake (fakesnow) with the months on S3 (moto), as its stage needs, and
    BigQuery (the emulator) reading the local lake."""
    if request.param == "snowflake":
        request.getfixturevalue("snowflake_env")
        s3 = request.getfixturevalue("s3_env")
        s3.create_bucket(Bucket="taxi-sf")
        for month in nyc_lake:
            s3.upload_file(str(month.path), "taxi-sf", f"nyc/{csv_key(month.month)}")
        monkeypatch.setenv("NYC_TAXI_DATA_URI", "s3://taxi-sf/nyc")
        return request.param, dict(os.environ)
    return request.param, request.getfixturevalue("dbt_on_emulator")


def test_the_months_load_alike_on_snowflake_and_bigquery(cloud_platform, nyc_lake):
    outcome = materialize("2020-01-01", "2020-03-01")

    assert outcome.ok, outcome.errors
    rows = platform_rows(
        cloud_platform, "select month, pulocationid, trip_type, payment_type, fare_amount, trips from nyc.main_data"
    )
    assert _by_key([(m, z, t, p, round(f, 2), n) for m, z, t, p, f, n in rows]) == _by_key(
        [row for m in nyc_lake for row in expected_fare_by_zone(m)]
    )
    per_month = platform_rows(cloud_platform, "select month, count(*) from nyc.green_trips group by month")
    assert sorted(per_month) == [(m.month, m.data_rows) for m in nyc_lake]
    assert platform_rows(cloud_platform, "select count(*) from nyc_analytics.nyc_taxi") == [
        (sum(m.data_rows for m in nyc_lake),)
    ]
    assert platform_rows(cloud_platform, "select count(*), min(cal_date) from nyc_analytics.calendar_date") == [
        (14000, dt.date(1987, 1, 1))
    ]
