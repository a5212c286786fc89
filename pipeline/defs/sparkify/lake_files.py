"""Which lake objects hold which Sparkify data: a day's event file, the song files."""

import datetime as dt
import hashlib

import dagster as dg

from pipeline.defs.sparkify import GROUP
from pipeline.defs.sparkify.layout import LOG_PREFIX, SONG_PREFIX, day_of_event_key, event_key, is_song_key
from pipeline.defs.sparkify.settings import SparkifySettings
from pipeline.lib.lake import DataLake, LakeObject, open_lake
from pipeline.lib.materialize import UsageError, declare_data_range

# A failed or interrupted upload leaves an object of zero bytes; one of only whitespace is as empty. Objects up
# to this size are read to tell (a day with a single event is larger), so a day file costs no extra read.
SMALL_ENOUGH_TO_READ = 4096


class MissingDayFile(dg.Failure):
    """A day has no event file, or an empty one: reported as such, never loaded as an empty day.

    Not retried: a late or re-delivered file is picked up by the sensor when it lands, not by waiting in a retry.
    """

    def __init__(self, description: str):
        super().__init__(description=description, allow_retries=False)


class EmptyFile(dg.Failure):
    """Lake files that hold nothing (zero bytes or only whitespace): an upload that did not finish, never data.

    Not retried, and nothing is replaced: loading one would replace a day's (or the catalogue's) rows by none.
    """

    def __init__(self, description: str):
        super().__init__(description=description, allow_retries=False)


def is_empty(lake: DataLake, obj: LakeObject) -> bool:
    if obj.size == 0:
        return True
    if obj.size > SMALL_ENOUGH_TO_READ:
        return False
    with lake.open(obj.key) as stream:
        return not stream.read().strip()


def day_file(lake: DataLake, day: dt.date) -> LakeObject:
    obj = lake.stat(event_key(day))
    if obj is None:
        raise MissingDayFile(f"missing day file for {day}: {lake.uri(event_key(day))} does not exist")
    if is_empty(lake, obj):
        raise EmptyFile(f"day file is empty: {lake.uri(obj.key)} ({obj.size} bytes); nothing of {day} was replaced")
    return obj


# The one deliberate way to empty a day: a run tagged so, over days whose file was emptied on purpose.
CLEAR_EMPTY_DAYS_TAG = "sparkify/clear_empty_days"


def clears_empty_days(context: dg.AssetExecutionContext) -> bool:
    return context.run.tags.get(CLEAR_EMPTY_DAYS_TAG) == "true"


def day_files(lake: DataLake, days: list[dt.date], clear_empty: bool = False) -> list[LakeObject]:
    """The event file of every day, or MissingDayFile naming all the days that have none or an empty one.

    With `clear_empty` (the run's CLEAR_EMPTY_DAYS_TAG), an empty file is returned like any other: its day
    is replaced by no rows. A missing file stays an error: clearing a day is done by emptying its file.
    """
    found, missing, empty = [], [], []
    for day in days:
        try:
            found.append(day_file(lake, day))
        except MissingDayFile:
            missing.append(f"{day} ({lake.uri(event_key(day))})")
        except EmptyFile:
            if clear_empty:
                found.append(lake.stat(event_key(day)))
            else:
                empty.append(f"{day} ({lake.uri(event_key(day))})")
    problems = [f"missing day file(s): {', '.join(missing)}"] if missing else []
    problems += [f"day file is empty: {', '.join(empty)}"] if empty else []
    if problems:
        hint = f"; nothing was replaced (to clear a day on purpose, run it with the tag {CLEAR_EMPTY_DAYS_TAG}=true)"
        raise MissingDayFile("; ".join(problems) + (hint if empty else ""))
    return found


def days_present(lake: DataLake) -> list[dt.date]:
    """Every day that has an event file in the layout."""
    days = (day_of_event_key(obj.key) for obj in lake.list(LOG_PREFIX))
    return sorted(day for day in days if day is not None)


def song_files(lake: DataLake) -> list[LakeObject]:
    return [obj for obj in lake.list(SONG_PREFIX) if is_song_key(obj.key)]


def loadable_song_files(lake: DataLake) -> list[LakeObject]:
    """The song files, or EmptyFile naming those of zero bytes (from the listing: song files are not read here,
    there are thousands of them; one of only whitespace yields no row, as its loader reports)."""
    objects = song_files(lake)
    empty = [lake.uri(obj.key) for obj in objects if obj.size == 0]
    if empty:
        shown = ", ".join(empty[:10]) + (f" and {len(empty) - 10} more" if len(empty) > 10 else "")
        raise EmptyFile(f"song file is empty: {shown}; staging_songs was not changed")
    return objects


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
