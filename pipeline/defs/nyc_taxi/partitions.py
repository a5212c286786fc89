"""Monthly partitions: one partition is one TLC month file, keyed by its first day (2020-01-01)."""

import datetime as dt

import dagster as dg


def monthly_partitions(first_month: dt.date, last_month: dt.date | None = None) -> dg.MonthlyPartitionsDefinition:
    """From first_month on; up to last_month included when given (Dagster's end date is the one after it)."""
    if last_month is None:
        return dg.MonthlyPartitionsDefinition(start_date=first_month.isoformat())
    end = dt.date(last_month.year + last_month.month // 12, last_month.month % 12 + 1, 1)
    return dg.MonthlyPartitionsDefinition(start_date=first_month.isoformat(), end_date=end.isoformat())


def months_of(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> list[dt.date]:
    return [dt.date.fromisoformat(key) for key in context.partition_keys]
