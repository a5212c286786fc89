"""Which lake objects hold which Sparkify data: a day's event file, the song files."""

import datetime as dt
import hashlib

import dagster as dg

from pipeline.defs.sparkify import GROUP
from pipeline.defs.sparkify.layout import LOG_PREFIX, SONG_PREFIX, day_of_event_key, event_key, is_song_key
from pipeline.defs.sparkify.settings import SparkifySettings
from pipeline.lib.lake import DataLake, LakeObject, open_lake
from pipeline.lib.materialize import UsageError, declare_data_range


class MissingDayFile(dg.Failure):
    """A day has no event file: reported as missing, never loaded as an empty day.

    Not retried: a late file is picked up by the sensor when it lands, not by waiting in a retry.
    """

    def __init__(self, description: str):
        super().__init__(description=description, allow_retries=False)


def day_file(lake: DataLake, day: dt.date) -> LakeObject:
    obj = lake.stat(event_key(day))
    if obj is None:
        raise MissingDayFile(f"missing day file for {day}: {lake.uri(event_key(day))} does not exist")
    return obj


def day_files(lake: DataLake, days: list[dt.date]) -> list[LakeObject]:
    """The event file of every day, or MissingDayFile naming all the days that have none."""
    found, missing = [], []
    for day in days:
        try:
            found.append(day_file(lake, day))
        except MissingDayFile:
            missing.append(day)
    if missing:
        listed = ", ".join(f"{day} ({lake.uri(event_key(day))})" for day in missing)
        raise MissingDayFile(f"missing day file(s): {listed}")
    return found


def days_present(lake: DataLake) -> list[dt.date]:
    """Every day that has an event file in the layout."""
    days = (day_of_event_key(obj.key) for obj in lake.list(LOG_PREFIX))
    return sorted(day for day in days if day is not None)


def song_files(lake: DataLake) -> list[LakeObject]:
    return [obj for obj in lake.list(SONG_PREFIX) if is_song_key(obj.key)]


def song_files_fingerprint(objects: list[LakeObject]) -> str:
    """One digest of every song file's key and version: it changes when any is added, removed or replaced."""
    return hashlib.sha256("\n".join(f"{o.key} {o.version}" for o in objects).encode()).hexdigest()


def days_in_lake() -> tuple[str, str]:
    """The first and last day with an event file: what `python -m pipeline materialize` runs by default."""
    data_uri = SparkifySettings.from_env().data_uri
    present = days_present(open_lake(data_uri))
    if not present:
        raise UsageError(f"no day files under {data_uri}/log_data/: nothing to materialize")
    return present[0].isoformat(), present[-1].isoformat()


declare_data_range(GROUP, days_in_lake)
