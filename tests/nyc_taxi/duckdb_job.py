"""The tests' stand-in for spark/month_job.py when the lake is in moto's S3, which the local Spark cannot read (it
has no S3 connector): the same Pipes exchange (parameters, context and messages through S3, month_job.pipes_io),
each month's layer written to the lake by the DuckDB engine (a month of no trip cleared as the job's
`clear_empty` says, as month_job.py does). Run as `python -m tests.nyc_taxi.duckdb_job` with
the job's arguments, by a test playing the Glue job moto does not run."""

import datetime as dt
import os

from dagster_pipes import open_dagster_pipes

from pipeline.defs.nyc_taxi import duckdb_engine
from pipeline.defs.nyc_taxi.spark.month_job import pipes_io
from pipeline.lib.lake import open_lake


def _stage(lake, month, extension_dir, extras):
    return duckdb_engine.stage_month(lake, month, extension_dir, extras["clear_empty"])


def _aggregate(lake, month, extension_dir, extras):
    return duckdb_engine.aggregate_month(lake, month, extension_dir)


STEPS = {"stage": _stage, "aggregate": _aggregate}


def main() -> None:
    with open_dagster_pipes(**pipes_io()) as pipes:
        lake, step, totals = open_lake(os.environ["NYC_TAXI_DATA_URI"]), STEPS[pipes.extras["step"]], {}
        for month in pipes.extras["months"]:
            made = step(lake, dt.date.fromisoformat(month["month"]), os.environ["DUCKDB_EXTENSION_DIR"], pipes.extras)
            for name, value in made.items():
                totals[name] = totals.get(name, 0) + value
        pipes.report_asset_materialization(metadata=totals)


if __name__ == "__main__":
    main()
