"""Monthly partitions: one partition is one TLC month file, keyed by its first day (2020-01-01)."""

import datetime as dt

import dagster as dg

from pipeline.defs.nyc_taxi.settings import env

monthly_partitions = dg.MonthlyPartitionsDefinition(start_date=env("NYC_TAXI_FIRST_MONTH"))
# A range of months runs as one run: one DuckDB session per step, one dbt invocation.
monthly_backfill_policy = dg.BackfillPolicy.single_run()


def months_of(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> list[dt.date]:
    return [dt.date.fromisoformat(key) for key in context.partition_keys]
