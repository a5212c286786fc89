"""The sample-lake generator writes the raw layout of sparkify.md with every quirk the real files have.

Expectations come from the spec and from parsing the files here, never from the generator's own counts.
"""

import collections
import dataclasses
import datetime
import itertools
import json
import re
from pathlib import Path

import pytest

from pipeline.defs.sparkify import layout
from pipeline.defs.sparkify.sample_data import SampleSpec, generate_lake, main
from tests.sparkify.expected_star import parse_objects

SMALL = SampleSpec(days=2, events_per_day=200, song_files=30, users=8, seed=7)
DAY_MS = 86_400_000
LOGGED_OUT_PAGES = {"Home", "Login", "About", "Help"}
STATUS = {
    "Login": 307,
    "Logout": 307,
    "Save Settings": 307,
    "Submit Upgrade": 307,
    "Submit Downgrade": 307,
    "Error": 404,
}


def tree(root: Path) -> dict[str, bytes]:
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


def event_files(root: Path) -> dict[str, bytes]:
    return {key: data for key, data in tree(root).items() if key.startswith("log_data/")}


def song_files(root: Path) -> dict[str, bytes]:
    return {key: data for key, data in tree(root).items() if key.startswith("song_data/")}


def day_start_ms(day: datetime.date) -> int:
    return int(datetime.datetime(day.year, day.month, day.day, tzinfo=datetime.UTC).timestamp() * 1000)


@pytest.fixture(scope="module")
def default_lake(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("default_lake")
    generate_lake(root, SampleSpec(), progress=False)
    return root


@pytest.fixture(scope="module")
def events(default_lake) -> list[dict]:
    return [obj for data in event_files(default_lake).values() for obj in parse_objects(data.decode("utf-8"))]


@pytest.fixture(scope="module")
def songs_by_file(default_lake) -> dict[str, list[dict]]:
    return {key: parse_objects(data.decode("utf-8")) for key, data in song_files(default_lake).items()}


def test_same_seed_gives_identical_bytes_and_another_seed_does_not(tmp_path):
    generate_lake(tmp_path / "a", SMALL, progress=False)
    generate_lake(tmp_path / "b", SMALL, progress=False)
    generate_lake(tmp_path / "c", dataclasses.replace(SMALL, seed=8), progress=False)
    first, again = tree(tmp_path / "a"), tree(tmp_path / "b")
    assert first == again
    assert set(event_files(tmp_path / "a")) == set(event_files(tmp_path / "c"))
    assert event_files(tmp_path / "a") != event_files(tmp_path / "c")
    assert set(song_files(tmp_path / "a")) != set(song_files(tmp_path / "c"))


def test_layout_of_a_two_day_lake_across_a_month_end(tmp_path):
    spec = SampleSpec(days=2, start=datetime.date(2018, 11, 30), events_per_day=50, song_files=12, users=5)
    generate_lake(tmp_path, spec, progress=False)
    files = tree(tmp_path)
    assert sorted(event_files(tmp_path)) == [
        "log_data/2018/11/2018-11-30-events.json",
        "log_data/2018/12/2018-12-01-events.json",
    ]
    assert json.loads(files["log_json_path.json"]) == layout.jsonpaths_document()
    songs = song_files(tmp_path)
    assert len(songs) == spec.song_files
    for key in songs:
        track_id = key.rsplit("/", 1)[1].removesuffix(".json")
        assert re.fullmatch(r"TR[A-Z0-9]{16}", track_id)
        assert layout.song_key(track_id) == key and layout.is_song_key(key)
    assert set(files) == set(songs) | set(event_files(tmp_path)) | {"log_json_path.json"}


def test_event_files_are_json_lines_in_field_order_without_a_trailing_newline(default_lake):
    for key, data in event_files(default_lake).items():
        assert data.endswith(b"}"), key
        lines = data.decode("utf-8").split("\n")
        assert len(lines) == SampleSpec().events_per_day
        for line in lines:
            assert tuple(json.loads(line)) == layout.EVENT_FIELDS


def test_events_fall_on_their_day_in_ts_order(default_lake):
    for key, data in event_files(default_lake).items():
        start = day_start_ms(layout.day_of_event_key(key))
        stamps = [event["ts"] for event in parse_objects(data.decode("utf-8"))]
        assert all(type(ts) is int and start < ts < start + DAY_MS for ts in stamps), key
        assert stamps == sorted(stamps)


def test_logged_out_events_and_user_fields(default_lake, events):
    raw = b"".join(event_files(default_lake).values())
    assert all(type(event["userId"]) is str for event in events)
    logged_out = [event for event in events if event["userId"] == ""]
    assert logged_out
    for event in events:
        assert (event["userId"] == "") == (event["auth"] == "Logged Out")
    for event in logged_out:
        assert event["page"] in LOGGED_OUT_PAGES
        for field in ("firstName", "lastName", "gender", "registration", "userAgent", "location", "length"):
            assert event[field] is None
    # registration is written as a float, with its ".0", exactly as the real files do
    registrations = re.findall(rb'"registration":([^,]+),', raw)
    assert registrations and all(re.fullmatch(rb"null|\d{13}\.0", text) for text in registrations)
    assert any(text != b"null" for text in registrations)


def test_users_have_fixed_attributes_and_some_change_level(events):
    by_user = collections.defaultdict(list)
    for event in sorted(events, key=lambda event: event["ts"]):
        if event["userId"]:
            by_user[event["userId"]].append(event)
    assert 1 < len(by_user) <= SampleSpec().users
    for user_id, user_events in by_user.items():
        assert user_id.isdigit()
        fixed = {
            (e["firstName"], e["lastName"], e["gender"], e["location"], e["userAgent"], e["registration"])
            for e in user_events
        }
        assert len(fixed) == 1, user_id
    changed = [
        user_id
        for user_id, user_events in by_user.items()
        if len({event["level"] for event in user_events if event["page"] == "NextSong"}) == 2
    ]
    assert changed
    submits = [event for event in events if event["page"] in ("Submit Upgrade", "Submit Downgrade")]
    assert submits


def test_pages_methods_status_and_lengths(events):
    pages = collections.Counter(event["page"] for event in events)
    assert {"NextSong", "Home", "Login", "Logout", "Error"} <= set(pages)
    logged_in = [event for event in events if event["auth"] == "Logged In"]
    share = sum(event["page"] == "NextSong" for event in logged_in) / len(logged_in)
    assert 0.7 <= share <= 0.9
    for event in events:
        assert event["status"] == STATUS.get(event["page"], 200)
        assert event["method"] in ("GET", "PUT")
        if event["page"] == "NextSong":
            assert type(event["length"]) is float and event["song"] and event["artist"]
        else:
            assert event["length"] is None and event["song"] is None and event["artist"] is None


def test_sessions_count_items_and_keys_are_unique(events):
    sessions = collections.defaultdict(list)
    for event in events:
        sessions[event["sessionId"]].append(event)
    for session_id, session in sessions.items():
        assert type(session_id) is int
        session.sort(key=lambda event: event["itemInSession"])
        assert [event["itemInSession"] for event in session] == list(range(len(session)))
        stamps = [event["ts"] for event in session]
        assert all(a < b for a, b in itertools.pairwise(stamps)), session_id
        assert len({event["userId"] for event in session} - {""}) <= 1
    keys = [(event["sessionId"], event["ts"]) for event in events if event["page"] == "NextSong"]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("spec", [SampleSpec(), SampleSpec(days=1, song_files=4, events_per_day=40, users=3)])
def test_song_files_carry_every_quirk(tmp_path, spec):
    generate_lake(tmp_path, spec, progress=False)
    by_file = {key: data.decode("utf-8") for key, data in song_files(tmp_path).items()}
    parsed = {key: parse_objects(text) for key, text in by_file.items()}
    assert all(not text.endswith("\n") for text in by_file.values())
    assert all(tuple(obj) == layout.SONG_FIELDS for objects in parsed.values() for obj in objects)
    pretty = [key for key, text in by_file.items() if text.count("\n") > len(layout.SONG_FIELDS)]
    assert len(pretty) >= 1 and len(pretty) <= 3
    assert all(text.count("\n") == 0 for key, text in by_file.items() if key not in pretty)
    doubles = [objects for objects in parsed.values() if len(objects) == 2]
    assert any(objects[0]["song_id"] != objects[1]["song_id"] for objects in doubles)
    files_of = collections.defaultdict(list)
    for key, objects in parsed.items():
        for obj in objects:
            files_of[obj["song_id"]].append((key, obj))
    copied = [places for places in files_of.values() if len({key for key, _ in places}) >= 2]
    assert copied and all(places[0][1] == places[1][1] for places in copied)
    songs = [obj for objects in parsed.values() for obj in objects]
    assert any(song["artist_latitude"] is None and song["artist_longitude"] is None for song in songs)
    assert any(type(song["artist_latitude"]) is float for song in songs)
    assert any(song["artist_location"] == "" for song in songs)
    assert any(song["year"] == 0 for song in songs) and any(song["year"] > 1900 for song in songs)
    songs_of_artist = collections.defaultdict(set)
    artist_rows = collections.defaultdict(set)
    for song in songs:
        assert re.fullmatch(r"SO[A-Z0-9]{16}", song["song_id"]) and re.fullmatch(r"AR[A-Z0-9]{16}", song["artist_id"])
        assert type(song["duration"]) is float
        songs_of_artist[song["artist_id"]].add(song["song_id"])
        artist_rows[song["artist_id"]].add(tuple(song[f] for f in layout.SONG_FIELDS if f.startswith("artist_")))
    assert max(len(ids) for ids in songs_of_artist.values()) >= 2
    assert all(len(rows) == 1 for rows in artist_rows.values())


def test_raw_bytes_have_escapes_and_non_ascii(default_lake, events, songs_by_file):
    event_bytes = b"".join(event_files(default_lake).values())
    song_bytes = b"".join(song_files(default_lake).values())
    assert b"\\/" in event_bytes and b'\\"' in event_bytes
    assert b'"\\"Mozilla\\/5.0' in event_bytes
    assert any(byte > 127 for byte in event_bytes) and any(byte > 127 for byte in song_bytes)
    songs = [obj for objects in songs_by_file.values() for obj in objects]
    texts = [song["title"] for song in songs] + [song["artist_name"] for song in songs]
    assert any(not text.isascii() for text in texts)
    assert any('"' in text for text in texts) and any("'" in text for text in texts)
    names = [event[field] for event in events for field in ("firstName", "lastName", "location") if event[field]]
    assert any(not name.isascii() for name in names)
    assert any("'" in name for name in names)


def test_a_share_of_plays_joins_a_song(events, songs_by_file):
    songs = [obj for objects in songs_by_file.values() for obj in objects]
    known = {(song["title"], song["artist_name"], song["duration"]) for song in songs}
    known_pairs = {(song["title"], song["artist_name"]) for song in songs}
    plays = [event for event in events if event["page"] == "NextSong"]
    matched = [play for play in plays if (play["song"], play["artist"], play["length"]) in known]
    assert 0.55 <= len(matched) / len(plays) <= 0.8
    near_misses = [
        play
        for play in plays
        if (play["song"], play["artist"]) in known_pairs and (play["song"], play["artist"], play["length"]) not in known
    ]
    assert near_misses


def test_regenerating_with_fewer_days_replaces_the_lake(tmp_path):
    root = tmp_path / "lake"
    generate_lake(root, SampleSpec(days=3, events_per_day=30, song_files=10, users=4, seed=1), progress=False)
    (root / "notes.txt").write_text("keep me")
    (root / "log_data" / "stray.json").write_text("{}")
    smaller = SampleSpec(days=1, events_per_day=30, song_files=6, users=4, seed=2)
    generate_lake(root, smaller, progress=False)
    generate_lake(tmp_path / "fresh", smaller, progress=False)
    assert sorted(event_files(root)) == ["log_data/2018/11/2018-11-01-events.json"]
    assert tree(root) == {**tree(tmp_path / "fresh"), "notes.txt": b"keep me"}
    assert not (root / "log_data" / "2018" / "11" / "2018-11-03-events.json").exists()


def test_cli_writes_a_lake_and_rejects_bad_arguments(tmp_path, capsys):
    out = tmp_path / "cli"
    assert main([str(out), "--days", "1", "--events-per-day", "20", "--song-files", "5", "--no-progress"]) == 0
    assert "20 events" in capsys.readouterr().out
    assert sorted(event_files(out)) == ["log_data/2018/11/2018-11-01-events.json"]
    for bad in (["--days", "0"], ["--start", "2018-02-30"], ["--users", "x"], ["--song-files", "-3"]):
        with pytest.raises(SystemExit) as exit_info:
            main([str(tmp_path / "bad"), *bad])
        assert exit_info.value.code != 0
    assert not (tmp_path / "bad").exists()


def test_regenerating_never_deletes_outside_the_lake(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.json").write_text("{}")
    root = tmp_path / "lake"
    spec = SampleSpec(days=1, events_per_day=20, song_files=5, users=3)
    generate_lake(root, spec, progress=False)
    (root / "song_data" / "Z").mkdir(exist_ok=True)
    (root / "song_data" / "Z" / "link").symlink_to(outside, target_is_directory=True)
    (root / "log_data" / "linked.json").symlink_to(outside / "precious.json")
    generate_lake(root, spec, progress=False)
    assert (outside / "precious.json").read_text() == "{}"
    assert not (root / "song_data" / "Z" / "link").exists() and not (root / "log_data" / "linked.json").exists()
