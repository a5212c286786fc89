"""A platform with two NYC-taxi months loaded, for the tests that change the second month's file and run the real
monthly job on it (test_month_input.py, test_month_reading.py, test_month_formats.py; their fixtures are in
conftest.py): what every layer and table holds, read back to compare."""

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipeline.defs.nyc_taxi.duckdb_engine import read_layer_sql
from pipeline.defs.nyc_taxi.layout import fare_by_zone_folder, trips_folder
from pipeline.lib.lake import LocalLake
from tests.conftest import warehouse_rows
from tests.platform import run

JANUARY, FEBRUARY = dt.date(2020, 1, 1), dt.date(2020, 2, 1)
JOB = "nyc_taxi_monthly"


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


def run_february(tags: dict[str, str] | None = None):
    return run(JOB, (FEBRUARY.isoformat(), FEBRUARY.isoformat()), tags)
