"""A deterministic generator of a Sparkify data lake in the raw layout of sparkify.md.

Every quirk of the real files is in every lake it writes, so the demo, the tests and the benchmark
load what production loads: `python -m pipeline.defs.sparkify.sample_data OUT_DIR [--days N] ...`.
"""

import argparse
import datetime
import itertools
import json
import os
import random
import string
from dataclasses import dataclass
from pathlib import Path

from pipeline.defs.sparkify import layout
from pipeline.lib.arguments import positive_int

DAY_MS = 86_400_000
PROGRESS_THRESHOLD = 2000
_EPOCH = datetime.date(1970, 1, 1)
_ALNUM = string.ascii_uppercase + string.digits

# The first artists and titles are always used, so even a four-song lake has non-ASCII names, quotes and apostrophes.
_SPECIAL_ARTISTS = (
    "Beyoncé",
    "Björk",
    "Sigur Rós",
    "Motörhead",
    "AC/DC",
    '"Weird Al" Yankovic',
    "Guns N' Roses",
    "Céline Dion",
    "Mötley Crüe",
    "Zoë Keating",
)
_SPECIAL_TITLES = ("I Didn't Mean To", 'The "Real" Thing', "Café Noir", "Either/Or", "Smörgåsbord")
_ADJECTIVES = (
    "Casual",
    "Electric",
    "Silent",
    "Golden",
    "Broken",
    "Crimson",
    "Velvet",
    "Lonely",
    "Wild",
    "Frozen",
    "Hollow",
    "Neon",
    "Distant",
    "Brave",
    "Sleepy",
    "Über",
    "Señor",
    "Little",
    "Midnight",
    "Blue",
)
_NOUNS = (
    "Hearts",
    "Wolves",
    "Rivers",
    "Engines",
    "Ghosts",
    "Kings",
    "Sparrows",
    "Machines",
    "Lights",
    "Tigers",
    "Niños",
    "Café",
    "Mountains",
    "Echoes",
    "Satellites",
    "Roses",
    "Shadows",
    "Trains",
    "Crows",
    "Dreams",
)
_TITLE_WORDS = (
    "Love",
    "Night",
    "Time",
    "Heart",
    "Fire",
    "Rain",
    "Home",
    "Road",
    "Dance",
    "Blue",
    "Gold",
    "Summer",
    "Déjà",
    "Vu",
    "Corazón",
    "Señorita",
    "Noël",
    "Mädchen",
    "Go",
    "Back",
    "Down",
    "Again",
    "Forever",
    "Tonight",
    "Don't",
    "Let",
    "Me",
    "You",
    "Light",
    "Dream",
    "City",
    "Sky",
    "River",
    "Baby",
    "Kiss",
)
_ARTIST_LOCATIONS = (
    "California - LA",
    "Reykjavík, Iceland",
    "München, Germany",
    "Montréal, Québec",
    "London, England",
    "New York, NY",
    "São Paulo, Brazil",
    "Hamilton, Ohio",
    "Detroit, MI",
    "Kingston, Jamaica",
    "Göteborg, Sweden",
    "Paris, France",
    "Austin, TX",
    "Seattle, WA",
)
_FIRST_NAMES = (
    ("Zoë", "F"),
    ("Walter", "M"),
    ("Céline", "F"),
    ("José", "M"),
    ("Kaylee", "F"),
    ("Søren", "M"),
    ("Anaïs", "F"),
    ("Björn", "M"),
    ("Renée", "F"),
    ("François", "M"),
    ("Lily", "F"),
    ("Jacob", "M"),
    ("Tegan", "F"),
    ("Ryan", "M"),
    ("Chloe", "F"),
    ("Aiden", "M"),
    ("Sara", "F"),
    ("Liam", "M"),
)
_LAST_NAMES = (
    "O'Brien",
    "Muñoz",
    "Frye",
    "Gómez",
    "Summers",
    "Núñez",
    "Koch",
    "Dvořák",
    "Levine",
    "Müller",
    "Cruz",
    "D'Angelo",
    "Lynch",
    "García",
    "Williams",
    "Larsen",
    "Jones",
    "Hoffmann",
)
_USER_LOCATIONS = (
    "San Germán-Cabo Rojo, PR",
    "San Francisco-Oakland-Hayward, CA",
    "Mayagüez, PR",
    "Cañon City, CO",
    "Atlanta-Sandy Springs-Roswell, GA",
    "New York-Newark-Jersey City, NY-NJ-PA",
    "Española, NM",
    "Chicago-Naperville-Elgin, IL-IN-WI",
    "Houston-The Woodlands-Sugar Land, TX",
    "Lansing-East Lansing, MI",
    "Portland-South Portland, ME",
    "Tampa-St. Petersburg-Clearwater, FL",
)
# Most real agents carry literal double quotes inside the string; some do not.
_USER_AGENTS = (
    '"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_4) AppleWebKit/537.36 (KHTML, like Gecko) '
    'Chrome/36.0.1985.143 Safari/537.36"',
    '"Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/37.0.2062.103 Safari/537.36"',
    "Mozilla/5.0 (Windows NT 6.1; WOW64; rv:31.0) Gecko/20100101 Firefox/31.0",
    '"Mozilla/5.0 (iPhone; CPU iPhone OS 7_1_2 like Mac OS X) AppleWebKit/537.51.2 (KHTML, like Gecko) '
    'Version/7.0 Mobile/11D257 Safari/9537.53"',
    "Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.1; WOW64; Trident/6.0)",
    '"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Ubuntu Chromium/36.0.1985.125 '
    'Chrome/36.0.1985.125 Safari/537.36"',
)

_PAGES = {
    "NextSong": ("PUT", 200),
    "Home": ("GET", 200),
    "Login": ("PUT", 307),
    "Logout": ("PUT", 307),
    "Settings": ("GET", 200),
    "Save Settings": ("PUT", 307),
    "Upgrade": ("GET", 200),
    "Submit Upgrade": ("PUT", 307),
    "Downgrade": ("GET", 200),
    "Submit Downgrade": ("PUT", 307),
    "About": ("GET", 200),
    "Help": ("GET", 200),
    "Error": ("GET", 404),
}
_LOGGED_OUT_PAGES = ("Home", "About", "Help")
# LEVEL / SUBMIT become Upgrade or Downgrade pages only when emitted, by the level the user has then.
_OTHER_TOKENS = ("Home", "Settings", "Save Settings", "LEVEL", "About", "Help", "Error")
_OTHER_CUM_WEIGHTS = (35, 45, 50, 62, 67, 75, 78)
# Day one's first session: logged-out events, Login/Logout, an Error and a level change between plays.
_SHOWCASE_SESSION = (
    ("Home", False),
    ("Login", False),
    ("NextSong", True),
    ("Error", True),
    ("NextSong", True),
    ("LEVEL", True),
    ("SUBMIT", True),
    ("NextSong", True),
    ("NextSong", True),
    ("Logout", True),
    ("Home", False),
)


def _dump(value, indent: int | None = None) -> str:
    # Real files escape "/" as "\/"; "/" only occurs inside JSON strings, and the result is still valid JSON.
    return json.dumps(value, ensure_ascii=False, indent=indent).replace("/", "\\/")


# The fields that differ from event to event, in EVENT_FIELDS order; the rest is fixed per user, level and page.
_VARYING = ("artist", "itemInSession", "length", "sessionId", "song", "ts")
assert tuple(field for field in layout.EVENT_FIELDS if field in _VARYING) == _VARYING
_PAGE_FRAGMENTS = {
    page: {"method": _dump(method), "page": _dump(page), "status": str(status)}
    for page, (method, status) in _PAGES.items()
}
_LOGGED_OUT = {
    level: {
        "auth": _dump("Logged Out"),
        "firstName": "null",
        "gender": "null",
        "lastName": "null",
        "level": _dump(level),
        "location": "null",
        "registration": "null",
        "userAgent": "null",
        "userId": '""',
    }
    for level in ("free", "paid")
}
_LOGGED_OUT_FORMATS: dict[tuple[str, str], str] = {}


def _line_format(fixed: dict[str, str]) -> str:
    """An event line with the fixed fields filled in and a %s for each varying one."""
    # One %-format of six values per event keeps the benchmark's millions of events fast;
    # a json.dumps per event would cost more than everything else together.
    parts = [
        f'"{field}":' + ("%s" if field in _VARYING else fixed[field].replace("%", "%%"))
        for field in layout.EVENT_FIELDS
    ]
    return "{" + ",".join(parts) + "}"


@dataclass(frozen=True)
class SampleSpec:
    """What to generate; the same spec (seed included) always gives byte-identical files."""

    days: int = 3
    start: datetime.date = datetime.date(2018, 11, 1)
    events_per_day: int = 300
    song_files: int = 80
    users: int = 25
    seed: int = 42


@dataclass(frozen=True)
class SampleLake:
    """What was written, for summaries."""

    root: Path
    days: tuple[datetime.date, ...]
    event_files: int
    events: int
    song_files: int
    song_objects: int


@dataclass
class _User:
    level: str
    fragments: dict[str, dict[str, str]]  # level -> the user's pre-dumped event fields while logged in
    weight: float
    formats: dict[tuple[str, str], str]  # (level, page) -> line format, filled as pages are met


@dataclass(frozen=True)
class _Play:
    artist: str  # pre-dumped JSON
    song: str
    length: str
    seconds: float


_NO_PLAY = _Play("null", "null", "null", 0.0)


@dataclass(frozen=True)
class _Catalog:
    files: list[tuple[str, str]]  # (key, text)
    songs: list[dict]  # distinct songs that were written, for the plays
    objects: int


@dataclass(frozen=True)
class _Plays:
    matched: list[_Play]
    unmatched: list[_Play]
    near_misses: list[_Play]


@dataclass(frozen=True)
class _Audience:
    users: list[_User]
    cum_weights: list[float]  # for rng.choices: who starts the next session
    plays: _Plays


@dataclass(frozen=True)
class _Session:
    user: _User | None  # None: a visitor who never logs in
    pages: list[tuple[str, bool]]  # (page or LEVEL/SUBMIT token, logged in)
    plays: list[_Play | None]
    stamps: list[int]
    visitor_level: str


def _ident(rng: random.Random, prefix: str, taken: set[str], letters: int = 0) -> str:
    """prefix + 16 uppercase alphanumerics, the first `letters` of them letters (track ids: song_data/A/B/C)."""
    while True:
        ident = prefix + "".join(rng.choices(string.ascii_uppercase, k=letters) + rng.choices(_ALNUM, k=16 - letters))
        if ident not in taken:
            taken.add(ident)
            return ident


def _artist_name(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.4:
        return f"The {rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}"
    if kind < 0.7:
        return f"{rng.choice(_FIRST_NAMES)[0]} {rng.choice(_LAST_NAMES)}"
    return rng.choice(_ADJECTIVES)


def _make_artist(rng: random.Random, index: int, taken: set[str]) -> dict:
    name = _SPECIAL_ARTISTS[index] if index < len(_SPECIAL_ARTISTS) else _artist_name(rng)
    # Artist 0 has no whereabouts and artist 1 all of them, so a tiny lake has both kinds.
    located = index == 1 or (index != 0 and rng.random() < 0.55)
    placed = index == 1 or (index != 0 and rng.random() < 0.4)
    return {
        "artist_id": _ident(rng, "AR", taken),
        "artist_latitude": round(rng.uniform(-60.0, 65.0), 5) if placed else None,
        "artist_location": rng.choice(_ARTIST_LOCATIONS) if located else "",
        "artist_longitude": round(rng.uniform(-150.0, 150.0), 5) if placed else None,
        "artist_name": name,
    }


def _title(rng: random.Random, index: int) -> str:
    if index < len(_SPECIAL_TITLES):
        return _SPECIAL_TITLES[index]
    return " ".join(rng.choices(_TITLE_WORDS, k=1 + int(rng.random() * 4)))


def _make_song(rng: random.Random, index: int, artist: dict, taken: set[str]) -> dict:
    known_year = index == 1 or (index != 0 and rng.random() < 0.6)
    values = {
        **artist,
        "duration": round(rng.uniform(30.0, 600.0), 5),
        "num_songs": 1,
        "song_id": _ident(rng, "SO", taken),
        "title": _title(rng, index),
        "year": rng.randint(1955, 2010) if known_year else 0,
    }
    return {field: values[field] for field in layout.SONG_FIELDS}


def _song_text(objects: list[dict], pretty: bool) -> str:
    # Objects back to back with nothing between them, as a concatenated copy leaves them.
    return "".join(_dump(song, indent=4 if pretty else None) for song in objects)


def _catalog(rng: random.Random, count: int) -> _Catalog:
    taken: set[str] = set()
    # About three songs per artist, and at least two artists so one of them repeats.
    artists = [_make_artist(rng, index, taken) for index in range(max(2, count // 3))]
    songs = []
    for index in range(count + 1):
        artist = artists[index] if index < 2 else rng.choice(artists)
        songs.append(_make_song(rng, index, artist, taken))
    contents = [[song] for song in songs[:count]]
    if count >= 2:
        contents[1].append(songs[count])  # one file holds two different songs
    if count >= 4:
        # A copied file: the same song object under a second track id (songs[3] makes way, so counts stay put).
        contents[3] = [songs[2]]
    files = [
        (layout.song_key(_ident(rng, "TR", taken, letters=3)), _song_text(objects, pretty=index == 0))
        for index, objects in enumerate(contents)
    ]
    written = {song["song_id"]: song for objects in contents for song in objects}
    return _Catalog(files, list(written.values()), sum(len(objects) for objects in contents))


def _play(artist: str, title: str, seconds: float) -> _Play:
    return _Play(_dump(artist), _dump(title), _dump(seconds), seconds)


def _plays(rng: random.Random, songs: list[dict]) -> _Plays:
    known = {(song["title"], song["artist_name"], song["duration"]) for song in songs}
    matched = [_play(song["artist_name"], song["title"], song["duration"]) for song in songs]
    unmatched = []
    while len(unmatched) < max(20, len(songs) // 2):
        fake = (_title(rng, len(_SPECIAL_TITLES)), _artist_name(rng), round(rng.uniform(30.0, 600.0), 5))
        if fake not in known:
            unmatched.append(_play(fake[1], fake[0], fake[2]))
    near_misses = []
    while len(near_misses) < max(3, len(songs) // 20):
        song = rng.choice(songs)
        # Same title and artist, another length: the join on duration must leave these unmatched.
        seconds = round(song["duration"] + rng.choice((-1, 1)) * rng.uniform(0.5, 30.0), 5)
        if (song["title"], song["artist_name"], seconds) not in known:
            near_misses.append(_play(song["artist_name"], song["title"], seconds))
    return _Plays(matched, unmatched, near_misses)


def _choose_play(rng: random.Random, plays: _Plays) -> _Play:
    draw = rng.random()
    if draw < 0.68:
        return rng.choice(plays.matched)
    if draw < 0.96:
        return rng.choice(plays.unmatched)
    return rng.choice(plays.near_misses)


def _user_fragments(fields: dict, level: str) -> dict[str, str]:
    dumped = {key: _dump(value) for key, value in fields.items()}
    return {**dumped, "auth": _dump("Logged In"), "level": _dump(level)}


def _make_user(rng: random.Random, index: int, user_id: str, start_ms: int) -> _User:
    first, gender = _FIRST_NAMES[0] if index == 0 else rng.choice(_FIRST_NAMES)
    last = _LAST_NAMES[index] if index < 2 else rng.choice(_LAST_NAMES)
    fields = {
        "firstName": first,
        "gender": gender,
        "lastName": last,
        "location": _USER_LOCATIONS[0] if index == 0 else rng.choice(_USER_LOCATIONS),
        # A float, as real files write it: 1540919166796.0.
        "registration": float(start_ms - rng.randint(DAY_MS, 60 * DAY_MS)),
        "userAgent": _USER_AGENTS[0] if index == 0 else rng.choice(_USER_AGENTS),
        "userId": user_id,
    }
    level = "free" if rng.random() < 0.6 else "paid"
    fragments = {lvl: _user_fragments(fields, lvl) for lvl in ("free", "paid")}
    # Skewed activity: a few users play much more than the others, as in the real logs.
    return _User(level, fragments, rng.random() ** 2 + 0.05, {})


def _users(rng: random.Random, count: int, start: datetime.date) -> list[_User]:
    ids = rng.sample(range(2, 4 * count + 100), count)
    start_ms = (start - _EPOCH).days * DAY_MS
    return [_make_user(rng, index, str(user_id), start_ms) for index, user_id in enumerate(ids)]


def _plan_pages(rng: random.Random) -> list[tuple[str, bool]]:
    pages = []
    if rng.random() < 0.12:
        pages += [(rng.choice(_LOGGED_OUT_PAGES), False) for _ in range(rng.randint(0, 2))]
        pages.append(("Login", False))
    for _ in range(1 + int(rng.random() * 24)):
        if rng.random() < 0.8:
            pages.append(("NextSong", True))
            continue
        token = rng.choices(_OTHER_TOKENS, cum_weights=_OTHER_CUM_WEIGHTS)[0]
        pages.append((token, True))
        if token == "LEVEL" and rng.random() < 0.25:
            pages.append(("SUBMIT", True))
    if rng.random() < 0.3:
        pages.append(("Logout", True))
        if rng.random() < 0.5:
            pages.append(("Home", False))
    return pages


def _visitor_pages(rng: random.Random) -> list[tuple[str, bool]]:
    return [("Home", False)] + [(rng.choice(_LOGGED_OUT_PAGES), False) for _ in range(rng.randint(0, 2))]


def _stamps(rng: random.Random, plays: list[_Play | None], day_start: int) -> list[int]:
    # A play's next event comes when the song has ended; a session never spans more than ~5 h, so it fits a day.
    gaps = [
        int(play.seconds * 1000) + int(rng.random() * 3000) if play else 1000 + int(rng.random() * 59_000)
        for play in plays[:-1]
    ]
    ts = day_start + 1 + int(rng.random() * (DAY_MS - 2 - sum(gaps)))
    stamps = [ts]
    for gap in gaps:
        ts += gap
        stamps.append(ts)
    return stamps


def _plan_session(rng: random.Random, audience: _Audience, day_start: int, budget: int, showcase: bool) -> _Session:
    user = audience.users[0] if showcase else rng.choices(audience.users, cum_weights=audience.cum_weights)[0]
    if showcase:
        pages = list(_SHOWCASE_SESSION)
    elif rng.random() < 0.03:
        user, pages = None, _visitor_pages(rng)
    else:
        pages = _plan_pages(rng)
    pages = pages[:budget]
    plays = [_choose_play(rng, audience.plays) if page == "NextSong" else None for page, _ in pages]
    stamps = _stamps(rng, plays, day_start)
    return _Session(user, pages, plays, stamps, "free" if rng.random() < 0.5 else "paid")


def _resolve(token: str, level: str) -> str:
    if token == "LEVEL":
        return "Upgrade" if level == "free" else "Downgrade"
    if token == "SUBMIT":
        return "Submit Upgrade" if level == "free" else "Submit Downgrade"
    return token


def _format_for(user: _User | None, level: str, logged_in: bool, page: str) -> str:
    cache, who = (user.formats, user.fragments[level]) if logged_in else (_LOGGED_OUT_FORMATS, _LOGGED_OUT[level])
    line_format = cache.get((level, page))
    if line_format is None:
        line_format = cache[level, page] = _line_format({**who, **_PAGE_FRAGMENTS[page]})
    return line_format


def _emit(session: _Session, session_id: int) -> list[tuple[int, int, int, str]]:
    user = session.user
    level = user.level if user else session.visitor_level
    rows = []
    for item, ((token, logged_in), play, ts) in enumerate(
        zip(session.pages, session.plays, session.stamps, strict=True)
    ):
        page = _resolve(token, level)
        play = play or _NO_PLAY
        line = _format_for(user, level, logged_in, page) % (play.artist, item, play.length, session_id, play.song, ts)
        rows.append((ts, session_id, item, line))
        # The submit event itself still carries the old level; the events after it the new one.
        if page == "Submit Upgrade":
            level = "paid"
        elif page == "Submit Downgrade":
            level = "free"
    if user:
        user.level = level
    return rows


def _day_lines(
    rng: random.Random, audience: _Audience, day: datetime.date, events: int, first_session_id: int, showcase: bool
) -> tuple[list[str], int]:
    """One day's event lines in ts order, and the next free session id (ids never repeat across days)."""
    day_start = (day - _EPOCH).days * DAY_MS
    sessions = []
    remaining = events
    while remaining > 0:
        session = _plan_session(rng, audience, day_start, remaining, showcase and not sessions)
        remaining -= len(session.pages)
        sessions.append(session)
    # Levels change in the order sessions start, so "latest level by ts" follows the submits.
    sessions.sort(key=lambda session: session.stamps[0])
    rows = []
    for offset, session in enumerate(sessions):
        rows += _emit(session, first_session_id + offset)
    rows.sort()
    return [row[3] for row in rows], first_session_id + len(sessions)


def _check_spec(spec: SampleSpec) -> None:
    for name in ("days", "events_per_day", "song_files", "users"):
        if getattr(spec, name) < 1:
            raise ValueError(f"SampleSpec.{name} must be positive, got {getattr(spec, name)}")


def _remove_stale(root: Path, keep: set[str]) -> None:
    """Delete what this generation does not write under log_data/ and song_data/, then the emptied dirs.

    Symlinks are removed as links (kept keys too, so no write goes through one): nothing outside root is touched.
    """
    for prefix in (layout.LOG_PREFIX, layout.SONG_PREFIX):
        top = os.path.join(root, prefix.rstrip("/"))
        if os.path.islink(top):
            os.unlink(top)
            continue
        for dirpath, dirnames, filenames in os.walk(top, topdown=False):
            for name in filenames + [name for name in dirnames if os.path.islink(os.path.join(dirpath, name))]:
                path = os.path.join(dirpath, name)
                if os.path.islink(path) or Path(path).relative_to(root).as_posix() not in keep:
                    os.unlink(path)
            if dirpath != top and not os.listdir(dirpath):
                os.rmdir(dirpath)


class _Writer:
    """Writes each file once, creating each directory once; plain str paths, as 15k+ files make pathlib show."""

    def __init__(self, root: Path):
        self.root = str(root)
        self.made: set[str] = set()

    def write(self, key: str, text: str) -> None:
        path = f"{self.root}/{key}"
        parent = os.path.dirname(path)
        if parent not in self.made:
            os.makedirs(parent, exist_ok=True)
            self.made.add(parent)
        with open(path, "wb") as out:
            out.write(text.encode("utf-8"))


def _audience(rng: random.Random, spec: SampleSpec, songs: list[dict]) -> _Audience:
    users = _users(rng, spec.users, spec.start)
    cum_weights = list(itertools.accumulate(user.weight for user in users))
    return _Audience(users, cum_weights, _plays(rng, songs))


def generate_lake(root: Path, spec: SampleSpec = SampleSpec(), progress: bool | None = None) -> SampleLake:
    """Write a lake for `spec` under `root`, replacing an earlier generated lake there."""
    _check_spec(spec)
    root = Path(root)
    rng = random.Random(spec.seed)
    catalog = _catalog(rng, spec.song_files)
    audience = _audience(rng, spec, catalog.songs)
    days = tuple(spec.start + datetime.timedelta(days=offset) for offset in range(spec.days))
    root.mkdir(parents=True, exist_ok=True)
    _remove_stale(root, {layout.event_key(day) for day in days} | {key for key, _ in catalog.files})
    jsonpaths = root / layout.JSONPATHS_KEY
    if jsonpaths.is_symlink():
        jsonpaths.unlink()
    total_files = len(days) + len(catalog.files) + 1
    show = total_files > PROGRESS_THRESHOLD if progress is None else progress
    writer = _Writer(root)
    events = 0
    import tqdm  # a development dependency: the production image never generates a lake

    with tqdm.tqdm(total=total_files, disable=not show, unit="file", desc="sample lake") as bar:
        writer.write(layout.JSONPATHS_KEY, json.dumps(layout.jsonpaths_document(), indent=4))
        for key, text in catalog.files:
            writer.write(key, text)  # no trailing newline, like the real files
        bar.update(1 + len(catalog.files))
        session_id = 1
        for index, day in enumerate(days):
            lines, session_id = _day_lines(rng, audience, day, spec.events_per_day, session_id, showcase=index == 0)
            writer.write(layout.event_key(day), "\n".join(lines))  # the last line has no newline
            events += len(lines)
            bar.update(1)
    return SampleLake(root, days, len(days), events, len(catalog.files), catalog.objects)


def _iso_date(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def main(argv: list[str] | None = None) -> int:
    defaults = SampleSpec()
    parser = argparse.ArgumentParser(description="Generate a Sparkify data lake in the raw layout.")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--days", type=positive_int, default=defaults.days)
    parser.add_argument("--start", type=_iso_date, default=defaults.start, help="first day, YYYY-MM-DD")
    parser.add_argument("--events-per-day", type=positive_int, default=defaults.events_per_day)
    parser.add_argument("--song-files", type=positive_int, default=defaults.song_files)
    parser.add_argument("--users", type=positive_int, default=defaults.users)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    spec = SampleSpec(args.days, args.start, args.events_per_day, args.song_files, args.users, args.seed)
    lake = generate_lake(args.out_dir, spec, progress=False if args.no_progress else None)
    print(
        f"wrote {lake.events} events in {lake.event_files} event files and {lake.song_objects} song objects "
        f"in {lake.song_files} song files to {lake.root}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
