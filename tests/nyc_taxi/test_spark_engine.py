"""The Spark engine's contract: spark/month_job.py, run by a real local Spark through Dagster Pipes
(NYC_TAXI_ENGINE=spark), writes the same typed trips and the same aggregate as the DuckDB engine, row for row, and
rejects a bad month with the same file, line and column."""

import datetime as dt
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipeline.defs.nyc_taxi.duckdb_engine import read_layer_sql
from pipeline.defs.nyc_taxi.layout import fare_by_zone_folder, trips_folder
from pipeline.defs.nyc_taxi.sample_data import TaxiSpec, generate_months
from pipeline.lib.lake import LocalLake
from tests.platform import definitions

STAGING, GOLD = dg.AssetKey(["staging", "green_trips"]), dg.AssetKey(["gold", "fare_by_zone"])

REPO = Path(__file__).resolve().parents[2]
SPARK_PYTHON = REPO / ".local" / "doubles" / "spark" / "bin" / "python"
MONTHS = ("2020-01-01", "2020-02-01")


@pytest.fixture
def spark_lake(tmp_path, pipeline_env, monkeypatch):
    """Two generated months with every quirk, a repeated header included, and the Spark double's Python."""
    assert SPARK_PYTHON.exists(), "the Spark double is missing: run bash tests/install_servers.sh"
    root = tmp_path / "nyc"
    months = generate_months(root, TaxiSpec(months=2, trips_per_month=1500, repeated_header=True))
    # January keeps its repeated header (DuckDB's careful path), February loses it (Arrow's fast path).
    header, *lines = months[1].path.read_text().split("\n")
    months[1].path.write_text("\n".join([header, *(line for line in lines if line != header)]))
    monkeypatch.setenv("NYC_TAXI_DATA_URI", str(root))
    monkeypatch.setenv("NYC_TAXI_SPARK_PYTHON", str(SPARK_PYTHON))
    return LocalLake(root), months


def run_steps(
    engine: str,
    monkeypatch,
    first: str = MONTHS[0],
    last: str = MONTHS[-1],
    assets=(STAGING, GOLD),
) -> dg.ExecuteInProcessResult:
    """The lake steps over the months on the engine, in this process."""
    monkeypatch.setenv("NYC_TAXI_ENGINE", engine)
    defs = definitions()
    return dg.materialize(
        [defs.resolve_assets_def(key) for key in assets],  # with the definitions' resources bound
        tags={"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last},
        raise_on_error=False,
    )


def layer_rows(lake: LocalLake, folder_of) -> list[tuple]:
    rows = []
    for month in MONTHS:
        sql = f"select * from {read_layer_sql(lake, folder_of(dt.date.fromisoformat(month)))}"
        with duckdb.connect() as connection:
            rows += connection.execute(sql).fetchall()
    return sorted(rows, key=lambda row: tuple((v is None, str(v)) for v in row))


def layer_schema(lake: LocalLake, folder_of) -> list[tuple]:
    sql = f"describe select * from {read_layer_sql(lake, folder_of(dt.date(2020, 1, 1)))}"
    with duckdb.connect() as connection:
        return [row[:2] for row in connection.execute(sql).fetchall()]


def metadata(result: dg.ExecuteInProcessResult, key: list[str], names: tuple[str, ...]) -> dict:
    """What the run's materialization of the asset says (one event per month of the range, the same metadata)."""
    events = [e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey(key)]
    assert len(events) == len(MONTHS)
    found = events[0].materialization.metadata
    return {name: found[name].value for name in names}


def test_spark_writes_what_duckdb_writes_row_for_row(spark_lake, monkeypatch):
    lake, months = spark_lake
    for month in months:  # blank lines mid-file: each trip's source_row is still its line in the file
        lines = month.path.read_text().split("\n")
        month.path.write_text("\n".join([*lines[:10], "", "", *lines[10:]]))
    duck = run_steps("duckdb", monkeypatch)
    assert duck.success
    duck_trips, duck_groups = layer_rows(lake, trips_folder), layer_rows(lake, fare_by_zone_folder)
    duck_schemas = layer_schema(lake, trips_folder), layer_schema(lake, fare_by_zone_folder)

    spark = run_steps("spark", monkeypatch)

    assert spark.success, [str(e) for e in spark.all_events if e.is_failure]
    assert len(duck_trips) == sum(m.data_rows for m in months) == 3000
    assert (layer_schema(lake, trips_folder), layer_schema(lake, fare_by_zone_folder)) == duck_schemas
    assert layer_rows(lake, trips_folder) == duck_trips
    spark_groups = layer_rows(lake, fare_by_zone_folder)
    # Sums of doubles in another order: equal to the cent, the rest exactly.
    assert [(*g[:4], round(g[4], 6), g[5]) for g in spark_groups] == [
        (*g[:4], round(g[4], 6), g[5]) for g in duck_groups
    ]
    # What each engine reported on the materialization, through Pipes for Spark.
    staged = ("rows", "repeated_headers_skipped")
    assert metadata(spark, ["staging", "green_trips"], staged) == metadata(duck, ["staging", "green_trips"], staged)
    assert metadata(spark, ["staging", "green_trips"], staged) == {"rows": 3000, "repeated_headers_skipped": 1}
    summed = ("groups", "fare_amount")
    assert metadata(spark, ["gold", "fare_by_zone"], summed) == metadata(duck, ["gold", "fare_by_zone"], summed)
    # Spark replaced DuckDB's file of each month, and DuckDB replaces Spark's parts again.
    assert all(not (Path(lake.uri(trips_folder(m.month))) / "part-00000.parquet").exists() for m in months)
    assert run_steps("duckdb", monkeypatch).success
    assert [p.name for p in Path(lake.uri(trips_folder(months[0].month))).iterdir()] == ["part-00000.parquet"]
    assert layer_rows(lake, trips_folder) == duck_trips


def _field(index: int, value):
    """A change of line 7's field `index` (a function of the old value)."""

    def change(lines: list[str]) -> None:
        fields = lines[6].split(",")
        fields[index] = value(fields[index])
        lines[6] = ",".join(fields)

    return change


def _short_line(lines: list[str]) -> None:
    lines[6] = lines[6].rsplit(",", 1)[0]


def _after_blank_lines(change):
    """The change, then two blank lines inserted after line 3 (the changed line 7 becomes line 9)."""

    def changed(lines: list[str]) -> None:
        change(lines)
        lines[3:3] = ["", ""]

    return changed


def _renamed_column(lines: list[str]) -> None:
    lines[0] = lines[0].replace("PULocationID,DOLocationID", "DOLocationID,PULocationID")


@pytest.mark.parametrize(
    "change, problem",
    [
        (_field(8, lambda v: "x" + v), "line 7, column trip_distance: cannot read x"),
        (_field(1, lambda v: "2020-13-01 00:00:00"), "line 7, column lpep_pickup_datetime"),
        (_short_line, "line 7"),
        (_renamed_column, "line 1: 'VendorID,"),
        (_after_blank_lines(_field(8, lambda v: "x" + v)), "line 9, column trip_distance: cannot read x"),
    ],
    ids=["number", "timestamp", "column count", "header", "after blank lines"],
)
def test_both_engines_reject_a_bad_line_naming_file_line_and_column(spark_lake, monkeypatch, change, problem):
    lake, months = spark_lake
    month = months[1]  # no repeated header: a clean file but for the change
    lines = month.path.read_text().split("\n")
    change(lines)
    month.path.write_text("\n".join(lines))

    for engine in ("duckdb", "spark"):
        result = run_steps(engine, monkeypatch, MONTHS[1], MONTHS[1])
        assert not result.success
        errors = [str(e.event_specific_data.error) for e in result.all_events if e.is_step_failure]
        assert any(f"{month.path}, {problem}" in error for error in errors), (engine, errors)
        assert not Path(lake.uri(trips_folder(month.month))).exists(), engine
