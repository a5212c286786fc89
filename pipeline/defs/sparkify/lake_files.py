"""Which lake objects hold which Sparkify data: a day's event file (the kit's partitioned files, layout.LOG_FILES),
the song files."""

import datetime as dt
import hashlib

import dagster as dg

from pipeline.defs.sparkify.layout import LOG_FILES, SONG_PREFIX, is_song_key
from pipeline.lib.lake import DataLake, LakeObject


class EmptyFile(dg.Failure):
    """Song files that hold nothing (zero bytes): an upload that did not finish, never data.

    Not retried, and nothing is replaced: loading one would replace the catalogue's rows by none.
    """

    def __init__(self, description: str):
        super().__init__(description=description, allow_retries=False)


def day_files(lake: DataLake, days: list[dt.date], clear_empty: bool = False) -> list[LakeObject]:
    """The event file of every day, or MissingFiles (the kit's) naming all the days that have none or an empty one.

    With `clear_empty` (the run's CLEAR_EMPTY_DAYS_TAG), an empty file is returned like any other: its day
    is replaced by no rows. A missing file stays an error: clearing a day is done by emptying its file.
    """
    return LOG_FILES.files(lake, [day.isoformat() for day in days], clear_empty)


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
