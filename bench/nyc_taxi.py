"""Figures 12 to 14: the NYC-taxi pipeline, on generated green-taxi months (pipeline/defs/nyc_taxi/sample_data.py).

12. CSV -> typed parquet: a month of `taxi_trips` trips staged by the DuckDB engine (duckdb_engine.stage_month:
    what the staging asset runs, typed with guarded casts, each trip with its file and line, written whole)
    against DuckDB's own `COPY (select * from read_csv(..., columns = {typed})) TO 'x.parquet'` of the same file.
13. Spark vs DuckDB at one-machine scale (informative): the same month staged through the staging asset with
    NYC_TAXI_ENGINE=spark (the script on a local Spark, through Dagster Pipes) and with duckdb, both printed,
    so a user sees where the crossover lies. Needs the Spark double (tests/install_servers.sh); left out without.
14. A new month costs O(month): one new month end to end (raw, staging, gold, loads, dbt, checks) with
    `taxi_history_months` months loaded vs with 2.
"""

import datetime as dt
import os
import time
from pathlib import Path

import dagster as dg
import duckdb

from bench.report import Figure, median
from bench.sandbox import Sandbox
from pipeline.defs.nyc_taxi.layout import CSV_COLUMNS, DROPPED, STAGED_FROM_CSV, csv_key, month_key
from pipeline.defs.nyc_taxi.sample_data import TaxiSpec, generate_months
from pipeline.lib.lake import LocalLake
from pipeline.lib.materialize import QUIET_LOGS
from pipeline.lib.warehouse.duckdb import DUCKDB_TYPES, literal

REPO = Path(__file__).resolve().parents[1]
SPARK_PYTHON = REPO / ".local" / "doubles" / "spark" / "bin" / "python"
SHORT_HISTORY_MONTHS = 2
FIRST = dt.date(2020, 1, 1)
STAGING_GREEN_TRIPS = dg.AssetKey(["staging", "green_trips"])


def _typed_columns() -> str:
    """The CSV's columns with the staged types (congestion_surcharge, dropped by the pipeline, as a double)."""
    types = {csv_column: DUCKDB_TYPES[logical] for csv_column, _, logical in STAGED_FROM_CSV}
    types[DROPPED] = DUCKDB_TYPES["double"]
    return "{" + ", ".join(f"{literal(c)}: {literal(types[c])}" for c in CSV_COLUMNS) + "}"


def _month(work: Path, trips: int) -> LocalLake:
    generate_months(work, TaxiSpec(months=1, trips_per_month=trips, first_month=FIRST))
    return LocalLake(work)


def staging_figure(work: Path, trips: int, extension_dir: Path, repeats: int) -> Figure:
    from pipeline.defs.nyc_taxi.duckdb_engine import stage_month

    lake = _month(work / "taxi_staging", trips)
    source = lake.uri(csv_key(FIRST))
    baseline_sql = (
        f"copy (select * from read_csv({literal(source)}, header = true, columns = {_typed_columns()}, "
        f"auto_detect = false)) to {literal(str(work / 'taxi_baseline.parquet'))} (format parquet)"
    )
    ours, theirs = [], []
    for _ in range(repeats):
        began = time.perf_counter()
        read = stage_month(lake, FIRST, str(extension_dir))
        ours.append(time.perf_counter() - began)
        with duckdb.connect() as connection:
            began = time.perf_counter()
            [baseline_rows] = connection.execute(baseline_sql).fetchone()
            theirs.append(time.perf_counter() - began)
    if read["rows"] != trips or baseline_rows != trips:
        raise RuntimeError(f"{read['rows']} trips staged, {baseline_rows} copied, for {trips}")
    rate, baseline = trips / median(ours), trips / median(theirs)
    return Figure(
        f"taxi_csv_to_parquet_{trips}_trips",
        rate,
        "rows/s",
        baseline,
        "rows/s (DuckDB's COPY of read_csv with the types)",
        rate / baseline,
        ">= 0.8",
        "the pipeline's CSV -> typed parquet against DuckDB's bare COPY",
        note=f"medians of {repeats}: {median(ours):.2f} s against {median(theirs):.2f} s",
    )


def spark_figure(work: Path, trips: int, extension_dir: Path) -> Figure | None:
    if not SPARK_PYTHON.exists():
        print(f"figure 13 left out: no Spark double at {SPARK_PYTHON} (bash tests/install_servers.sh)", flush=True)
        return None
    from pipeline.code_location import build_definitions
    from pipeline.lib.settings import Settings

    lake = _month(work / "taxi_engines", trips)
    seconds = {}
    for engine in ("duckdb", "spark"):
        variables = {
            "NYC_TAXI_DATA_URI": str(lake.root),
            "NYC_TAXI_ENGINE": engine,
            "NYC_TAXI_SPARK_PYTHON": str(SPARK_PYTHON),
            "DUCKDB_EXTENSION_DIR": str(extension_dir),
        }
        # The code location on that engine, built before the timing; the staging step alone, with the lake the
        # definitions bind to it.
        defs = build_definitions(Settings.from_env({**os.environ, **variables}))
        began = time.perf_counter()
        result = dg.materialize(
            [defs.resolve_assets_def(STAGING_GREEN_TRIPS)],
            partition_key=month_key(FIRST),
            run_config=QUIET_LOGS,
        )
        seconds[engine] = time.perf_counter() - began
        if not result.success:
            raise RuntimeError(f"staging on {engine} failed")
    return Figure(
        f"taxi_staging_on_local_spark_{trips}_trips",
        seconds["spark"],
        "s",
        seconds["duckdb"],
        "s (DuckDB, same step)",
        seconds["spark"] / seconds["duckdb"],
        "",
        "Spark's time over DuckDB's for one month on this machine, Spark's start-up included",
    )


def history_figure(work: Path, extension_dir: Path, trips: int, long_months: int, repeats: int) -> Figure:
    """One new month end to end with `long_months` loaded vs with SHORT_HISTORY_MONTHS."""
    seconds = {}
    for history in (SHORT_HISTORY_MONTHS, long_months):
        root = work / f"taxi_history_{history}"
        generate_months(root / "lake", TaxiSpec(months=history + repeats, trips_per_month=trips, first_month=FIRST))
        box = Sandbox(root, "", extension_dir, nyc_taxi_data_uri=str(root / "lake"))
        months = [month_key(_add_months(FIRST, n)) for n in range(history + repeats)]
        box.run("nyc_taxi_monthly", months[0], months[history - 1])
        seconds[history] = median([box.run("nyc_taxi_monthly", m, m) for m in months[history:]])
    long, short = seconds[long_months], seconds[SHORT_HISTORY_MONTHS]
    return Figure(
        f"taxi_new_month_after_{long_months}_months",
        long,
        "s",
        short,
        f"s (after {SHORT_HISTORY_MONTHS} months)",
        long / short,
        "<= 1.3",
        "a new month's run with a long history against a short one",
        note=f"{trips} trips a month; medians of {repeats} new months",
    )


def _add_months(month: dt.date, n: int) -> dt.date:
    total = month.year * 12 + month.month - 1 + n
    return dt.date(total // 12, total % 12 + 1, 1)
