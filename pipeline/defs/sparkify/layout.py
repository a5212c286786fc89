"""The raw data lake's layout and record fields, as the data contract (sparkify.md) fixes them.

Every reader and writer of the lake (the generator, the loaders, the sensors) takes paths and
field names from here, so the layout is written down once.
"""

import datetime as dt
import re

from pipeline.lib.partitioned_files import PartitionedFiles

LOG_PREFIX = "log_data/"
SONG_PREFIX = "song_data/"
JSONPATHS_KEY = "log_json_path.json"

# Field order is the Redshift JSONPaths order of log_json_path.json.
EVENT_FIELDS = (
    "artist",
    "auth",
    "firstName",
    "gender",
    "itemInSession",
    "lastName",
    "length",
    "level",
    "location",
    "method",
    "page",
    "registration",
    "sessionId",
    "song",
    "status",
    "ts",
    "userAgent",
    "userId",
)
SONG_FIELDS = (
    "artist_id",
    "artist_latitude",
    "artist_location",
    "artist_longitude",
    "artist_name",
    "duration",
    "num_songs",
    "song_id",
    "title",
    "year",
)

_EVENT_KEY_RE = re.compile(r"^log_data/(\d{4})/(\d{2})/(\d{4}-\d{2}-\d{2})-events\.json$")
_SONG_KEY_RE = re.compile(r"^song_data/[A-Z0-9]/[A-Z0-9]/[A-Z0-9]/[A-Za-z0-9_-]+\.json$")


def snake_case(field: str) -> str:
    """`itemInSession` -> `item_in_session`: staging column names are the fields in snake_case."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", field).lower()


def event_key(day: dt.date) -> str:
    """The object key of one UTC day's event file."""
    return f"{LOG_PREFIX}{day:%Y}/{day:%m}/{day:%Y-%m-%d}-events.json"


def day_of_event_key(key: str) -> dt.date | None:
    """The day an event-file key belongs to, or None when the key is not in the layout."""
    match = _EVENT_KEY_RE.match(key)
    if not match:
        return None
    year, month, iso_day = match.groups()
    try:
        day = dt.date.fromisoformat(iso_day)
    except ValueError:
        return None
    if (f"{day:%Y}", f"{day:%m}") != (year, month):
        return None
    return day


def song_key(track_id: str) -> str:
    """`TRABCEI128F424C983` -> `song_data/A/B/C/TRABCEI128F424C983.json` (letters 3 to 5 of the id)."""
    return f"{SONG_PREFIX}{track_id[2]}/{track_id[3]}/{track_id[4]}/{track_id}.json"


def is_song_key(key: str) -> bool:
    return bool(_SONG_KEY_RE.match(key))


def jsonpaths_document() -> dict:
    """The content of log_json_path.json: Redshift COPY's JSONPaths for the event fields."""
    return {"jsonpaths": [f"$['{field}']" for field in EVENT_FIELDS]}


def _partition_of_event_key(key: str) -> str | None:
    day = day_of_event_key(key)
    return day.isoformat() if day else None


# The one deliberate way to empty a day: a run tagged so, over days whose file was emptied on purpose.
CLEAR_EMPTY_DAYS_TAG = "sparkify/clear_empty_days"

# The event files as the kit's partitioned files: a day's partition key <-> its object key.
LOG_FILES = PartitionedFiles(
    prefix=LOG_PREFIX,
    key_of=lambda partition: event_key(dt.date.fromisoformat(partition)),
    partition_of=_partition_of_event_key,
    what="day file",
    clear_empty_tag=CLEAR_EMPTY_DAYS_TAG,
)
