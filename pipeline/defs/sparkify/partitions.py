"""The daily partitions of Sparkify: one partition per UTC day of activity logs, from the settings' first day."""

import datetime as dt

import dagster as dg


def daily_partitions(first_day: dt.date) -> dg.DailyPartitionsDefinition:
    return dg.DailyPartitionsDefinition(start_date=first_day.isoformat(), timezone="UTC")


def parse_day(partition_key: str) -> dt.date:
    """A partition key as a date; anything that is not a valid YYYY-MM-DD day is refused before it reaches SQL."""
    try:
        day = dt.date.fromisoformat(partition_key)
    except (TypeError, ValueError):
        raise ValueError(f"partition key {partition_key!r} is not a date YYYY-MM-DD") from None
    if partition_key != day.isoformat():
        raise ValueError(f"partition key {partition_key!r} is not a date YYYY-MM-DD")
    return day


def days_of(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> list[dt.date]:
    """Every day the run covers, in order (one for a single partition, many for a single-run backfill)."""
    return [parse_day(key) for key in context.partition_keys]


def day_epoch_ms(day: dt.date) -> tuple[int, int]:
    """[start, end) of the UTC day in epoch milliseconds, the unit of staging_events.ts."""
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    low = int(start.timestamp()) * 1000
    return low, low + 86_400_000
