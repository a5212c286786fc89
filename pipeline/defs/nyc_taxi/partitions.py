"""Monthly partitions: one partition is one TLC month file, keyed by its first day (2020-01-01)."""

import datetime as dt

import dagster as dg


def monthly_partitions(first_month: dt.date) -> dg.MonthlyPartitionsDefinition:
    return dg.MonthlyPartitionsDefinition(start_date=first_month.isoformat())


def months_of(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> list[dt.date]:
    return [dt.date.fromisoformat(key) for key in context.partition_keys]
