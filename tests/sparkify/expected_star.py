"""The star schema the contract implies, computed in plain Python from the raw files.

An independent reading of sparkify.md for the tests: it shares no code with the pipeline, so a
loader or model bug cannot hide in both.
"""

import datetime as dt
import hashlib
import json
from pathlib import Path


def parse_objects(text: str) -> list[dict]:
    """Every JSON object in a file's text: one a line, pretty-printed or back to back."""
    decoder, pos, objects = json.JSONDecoder(), 0, []
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos == len(text):
            return objects
        obj, pos = decoder.raw_decode(text, pos)
        objects.append(obj)


def read_objects(path: Path) -> list[dict]:
    return parse_objects(path.read_text(encoding="utf-8"))


def events_by_day(root: Path) -> dict[str, list[dict]]:
    return {p.name[:10]: read_objects(p) for p in sorted((root / "log_data").rglob("*-events.json"))}


def song_objects(root: Path) -> list[dict]:
    return [obj for p in sorted((root / "song_data").rglob("*.json")) for obj in read_objects(p)]


def start_time(ts: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=ts)


def timestamp_text(value: dt.datetime) -> str:
    """How the warehouses render a timestamp as text: fraction digits only as far as they are non-zero."""
    text = value.strftime("%Y-%m-%d %H:%M:%S")
    fraction = f"{value.microsecond:06d}".rstrip("0")
    return f"{text}.{fraction}" if fraction else text


def songplay_id(session_id: int, ts: int) -> str:
    return hashlib.md5(f"{session_id}{timestamp_text(start_time(ts))}".encode()).hexdigest()


def expected_star(root: Path, days: list[str] | None = None) -> dict[str, list[tuple]]:
    """Rows of every analytics table (sorted), for the given days of events (default: all)."""
    by_day = events_by_day(root)
    events = [e for day, evs in by_day.items() if days is None or day in days for e in evs]
    plays = [e for e in events if e["page"] == "NextSong"]
    songs = song_objects(root)

    matches = {}
    for s in sorted(songs, key=lambda s: (s["song_id"], s["artist_id"])):
        matches.setdefault((s["title"], s["artist_name"], s["duration"]), (s["song_id"], s["artist_id"]))
    songplays = []
    for e in plays:
        song_id, artist_id = matches.get((e["song"], e["artist"], e["length"]), (None, None))
        songplays.append(
            (
                songplay_id(e["sessionId"], e["ts"]),
                start_time(e["ts"]),
                e["userId"] or None,
                e["level"],
                song_id,
                artist_id,
                e["sessionId"],
                e["location"],
                e["userAgent"],
            )
        )

    latest = {}
    for e in sorted(
        (e for e in plays if e["userId"] != ""), key=lambda e: (e["ts"], e["sessionId"], e["itemInSession"])
    ):
        latest[e["userId"]] = (e["userId"], e["firstName"], e["lastName"], e["gender"], e["level"])

    song_rows = {s["song_id"]: (s["song_id"], s["title"], s["artist_id"], s["year"], s["duration"]) for s in songs}
    artist_ids = {s["artist_id"] for s in songs}
    times = {start_time(e["ts"]) for e in plays}
    time_rows = [(t, t.hour, t.day, t.isocalendar()[1], t.month, t.year, (t.weekday() + 1) % 7) for t in times]
    return {
        "songplays": sorted(songplays, key=lambda r: r[0]),
        "users": sorted(latest.values()),
        "songs": sorted(song_rows.values()),
        "artist_ids": sorted(artist_ids),
        "time": sorted(time_rows),
    }
