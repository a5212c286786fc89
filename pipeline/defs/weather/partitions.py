"""The hourly partitions of the weather pipeline (UTC), and an hour's names: its partition key and `run_hr`."""

import datetime as dt

import dagster as dg

KEY_FORMAT = "%Y-%m-%d-%H:%M"  # Dagster's hourly partition keys, as the UI and `dagster job backfill` print them


def hourly_partitions(first_hour: str) -> dg.HourlyPartitionsDefinition:
    return dg.HourlyPartitionsDefinition(start_date=first_hour, timezone="UTC")


def parse_hour(partition_key: str) -> dt.datetime:
    """A partition key as a UTC hour; anything else is refused before it reaches a key or SQL."""
    try:
        hour = dt.datetime.strptime(partition_key, KEY_FORMAT).replace(tzinfo=dt.UTC)
    except (TypeError, ValueError):
        raise ValueError(f"partition key {partition_key!r} is not an hour YYYY-MM-DD-HH:00") from None
    if hour.minute:
        raise ValueError(f"partition key {partition_key!r} is not on the hour")
    return hour


def hours_of(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> list[dt.datetime]:
    return [parse_hour(key) for key in context.partition_keys]


def run_hr(hour: dt.datetime) -> int:
    """The original's hour column: YYYYMMDDHH00 as a number (2024010411 00 for 11:00 on 4 Jan 2024)."""
    return int(hour.strftime("%Y%m%d%H00"))
