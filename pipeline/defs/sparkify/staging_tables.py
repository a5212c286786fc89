"""The staging tables of the data contract: names, columns and types, and the JSON field each column holds.

Staging keeps the raw values (ts in epoch milliseconds, user_id as text, doubles never rounded).
"""

from dataclasses import dataclass

from pipeline.defs.sparkify.layout import EVENT_FIELDS, SONG_FIELDS, snake_case
from pipeline.lib.warehouse import Column, TableSpec

_EVENT_TYPES = {
    "itemInSession": "integer",
    "length": "double",
    "registration": "double",
    "sessionId": "integer",
    "status": "integer",
    "ts": "bigint",
}
_SONG_TYPES = {
    "artist_latitude": "double",
    "artist_longitude": "double",
    "duration": "double",
    "num_songs": "integer",
    "year": "integer",
}

# The column that places an event in its day: a day's load replaces the rows in the day's ts range.
EVENT_TIME_COLUMN = "ts"


@dataclass(frozen=True)
class StagingTables:
    events: TableSpec
    songs: TableSpec


def staging_tables(schema: str) -> StagingTables:
    """The two staging tables in the schema (SPARKIFY_STAGING_SCHEMA; dbt's sources.yml reads it too)."""
    return StagingTables(
        events=TableSpec(
            schema, "staging_events", tuple(Column(snake_case(f), _EVENT_TYPES.get(f, "text"), f) for f in EVENT_FIELDS)
        ),
        songs=TableSpec(schema, "staging_songs", tuple(Column(f, _SONG_TYPES.get(f, "text"), f) for f in SONG_FIELDS)),
    )
