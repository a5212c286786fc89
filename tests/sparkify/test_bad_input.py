"""docs/guarantees.md, row by row: each kind of bad input run through Sparkify's jobs on DuckDB and on a real
Postgres server, with what the run says, that nothing was retried, and what is left in the warehouse.

Every test starts from the same three loaded days (a copied DuckDB file, or a Postgres database made from a
template) and damages line 5 of the second day's file, or the whole file.
"""

import datetime as dt
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from pipeline.defs.sparkify.checks import CHECK_NAME
from pipeline.defs.sparkify.layout import CLEAR_EMPTY_DAYS_TAG, event_key
from pipeline.defs.sparkify.partitions import day_epoch_ms
from tests.conftest import restarted_steps
from tests.sparkify.runs import materialize_all, materialize_days, materialize_songs

DAYS = [dt.date(2018, 11, 1), dt.date(2018, 11, 2), dt.date(2018, 11, 3)]
DAY, LINE = DAYS[1], 5
TABLES = {  # table -> number of columns, to order rows by all of them
    "staging.staging_events": 18,
    "staging.staging_songs": 10,
    "analytics.songplays": 9,
    "analytics.users": 5,
    "analytics.songs": 5,
    "analytics.artists": 5,
    "analytics.time": 7,
}
TEMPLATE = "bad_input_template"


@dataclass
class Platform:
    warehouse: str
    env: dict[str, str]
    lake: Path
    postgres: object = None

    def query(self, sql: str) -> list[tuple]:
        if self.warehouse == "duckdb":
            with duckdb.connect(self.env["DUCKDB_PATH"], read_only=True) as connection:
                return connection.execute(sql).fetchall()
        connection = self.postgres.connect(self.env["POSTGRES_DB"])
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql)
                return cursor.fetchall()
        finally:
            connection.close()

    def tables(self) -> dict[str, list[tuple]]:
        order = {t: ", ".join(str(i) for i in range(1, n + 1)) for t, n in TABLES.items()}
        return {t: self.query(f"select * from {t} order by {order[t]}") for t in TABLES}

    @property
    def day_file(self) -> Path:
        return self.lake / event_key(DAY)


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def baseline(request, tmp_path_factory, sample_lake, extension_dir, postgres_server):
    """Three days loaded once per warehouse: a DuckDB file, or a Postgres database used as a template."""
    root = tmp_path_factory.mktemp(f"bad_input_{request.param}")
    env = {
        "SPARKIFY_DATA_URI": str(sample_lake.root),
        "WAREHOUSE": request.param,
        "DUCKDB_PATH": str(root / "warehouse.duckdb"),
        "DUCKDB_EXTENSION_DIR": str(extension_dir),
        "DAGSTER_HOME": str(root / "dagster_home"),
        "RETRY_DELAY_SECONDS": "0",  # a wrong retry shows as a restarted step, not as a wait
    }
    if request.param == "postgres":
        env |= {
            "POSTGRES_HOST": postgres_server.host,
            "POSTGRES_PORT": str(postgres_server.port),
            "POSTGRES_USER": postgres_server.user,
            "POSTGRES_PASSWORD": postgres_server.password,
            "POSTGRES_DB": postgres_server.create_database(TEMPLATE),
        }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        runs = materialize_all(DAYS)
    assert all(outcome.ok for _, outcome in runs), [outcome.errors for _, outcome in runs]
    return env


@pytest.fixture
def platform(baseline, tmp_path, monkeypatch, sample_lake, postgres_server) -> Platform:
    env = dict(baseline, SPARKIFY_DATA_URI=str(tmp_path / "lake"), DAGSTER_HOME=str(tmp_path / "dagster_home"))
    shutil.copytree(sample_lake.root, env["SPARKIFY_DATA_URI"])
    shutil.copytree(baseline["DAGSTER_HOME"], env["DAGSTER_HOME"])
    if baseline["WAREHOUSE"] == "duckdb":
        env["DUCKDB_PATH"] = str(tmp_path / "warehouse.duckdb")
        shutil.copy(baseline["DUCKDB_PATH"], env["DUCKDB_PATH"])
    else:
        env["POSTGRES_DB"] = f"bad_input_{uuid.uuid4().hex[:12]}"
        connection = postgres_server.connect()
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f"create database {env['POSTGRES_DB']} template {TEMPLATE}")
        connection.close()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Platform(baseline["WAREHOUSE"], env, Path(env["SPARKIFY_DATA_URI"]), postgres_server)


def on_line(change: Callable[[bytes], bytes]) -> Callable[[bytes], bytes]:
    def damage(data: bytes) -> bytes:
        lines = data.split(b"\n")
        lines[LINE - 1] = change(lines[LINE - 1])
        return b"\n".join(lines)

    return damage


def field_value(field: str, raw: bytes) -> Callable[[bytes], bytes]:
    """Line 5's `field` takes the raw JSON text; its old value stays under another name."""
    return on_line(
        lambda line: line.replace(b'"' + field.encode() + b'":', b'"' + field.encode() + b'":' + raw + b',"was":', 1)
    )


REFUSED = {
    "cut-line": (on_line(lambda line: line[: len(line) // 2]), f"line {LINE}: malformed JSON"),
    "ts-not-a-number": (field_value("ts", b'"soon"'), f"line {LINE}, field 'ts': expected a bigint"),
    "ts-outside-the-day": (
        field_value("ts", str(day_epoch_ms(DAY)[1]).encode()),
        f"line {LINE}, field 'ts': {day_epoch_ms(DAY)[1]} is not in {DAY}",
    ),
    "integer-overflow": (
        field_value("sessionId", b"99999999999"),
        f"line {LINE}, field 'sessionId': 99999999999 is out of range for an integer",
    ),
    "object-for-a-number": (
        field_value("sessionId", b'{"id": 1}'),
        f"line {LINE}, field 'sessionId': expected an integer value, found a JSON object",
    ),
    "bare-NaN": (field_value("length", b"NaN"), f"line {LINE}, field 'length': NaN is not valid JSON"),
    "bare-Infinity": (field_value("length", b"-Infinity"), f"line {LINE}, field 'length': -Infinity is not valid JSON"),
    "Infinity-as-text": (
        field_value("length", b'"Infinity"'),
        f"line {LINE}, field 'length': expected a finite number, found \"Infinity\"",
    ),
    "invalid-UTF-8": (field_value("artist", b'"Bj\xf6rk"'), f"line {LINE}: not UTF-8 text: byte(s) f6 at column"),
    "NUL-in-text": (
        field_value("artist", b'"Bj\\u0000rk"'),
        f"line {LINE}, field 'artist': text contains a NUL character",
    ),
}


@pytest.mark.parametrize("case", REFUSED)
def test_a_bad_value_fails_the_day_naming_file_line_and_field_and_changes_nothing(platform, case):
    damage, expected = REFUSED[case]
    before = platform.tables()
    platform.day_file.write_bytes(damage(platform.day_file.read_bytes()))

    outcome = materialize_days([DAY])

    assert not outcome.ok
    [error] = outcome.errors
    assert error.startswith("staging__staging_events: staging.staging_events not loaded, nothing changed: ")
    assert f"{platform.day_file}, {expected}" in error
    assert "The warehouse reported" not in error  # one line number, the right one
    assert restarted_steps(outcome.run_id) == []
    assert platform.tables() == before


@pytest.mark.parametrize(
    "content, expected",
    [(b"", "day file is empty"), (b" \n\n\t\n", "day file is empty"), (None, "missing day file")],
    ids=["zero-bytes", "only-whitespace", "missing"],
)
def test_an_empty_or_missing_day_file_fails_before_anything_is_replaced(platform, content, expected):
    before = platform.tables()
    if content is None:
        platform.day_file.unlink()
    else:
        platform.day_file.write_bytes(content)

    outcome = materialize_days([DAY])

    assert not outcome.ok
    assert any(expected in e and str(platform.day_file) in e for e in outcome.errors), outcome.errors
    assert not any("staging_events" in e for e in outcome.errors)  # the load never started
    assert restarted_steps(outcome.run_id) == []
    assert platform.tables() == before


def test_a_zero_byte_song_file_fails_the_catalogue_and_changes_nothing(platform):
    before = platform.tables()
    song_file = sorted((platform.lake / "song_data").rglob("*.json"))[3]
    song_file.write_bytes(b"")

    outcome = materialize_songs()

    assert not outcome.ok
    assert any(f"song file is empty: {song_file}" in e for e in outcome.errors), outcome.errors
    assert restarted_steps(outcome.run_id) == []
    assert platform.tables() == before


def test_a_byte_order_mark_is_skipped_by_the_load_and_the_reconciliation_alike(platform):
    before = platform.tables()
    platform.day_file.write_bytes("\ufeff".encode() + platform.day_file.read_bytes())

    outcome = materialize_days([DAY])

    assert outcome.ok, outcome.errors
    assert any(c.name.endswith(CHECK_NAME) and c.passed for c in outcome.checks), outcome.checks
    assert platform.tables() == before


def test_an_object_where_text_is_expected_is_loaded_as_its_compact_json_text(platform):
    platform.day_file.write_bytes(
        field_value("userAgent", '{"os": ["Linux", "é"], "v": 1.50}'.encode())(platform.day_file.read_bytes())
    )
    line = platform.day_file.read_bytes().split(b"\n")[LINE - 1]
    ts = int(line.split(b'"ts":')[1].split(b",")[0])

    outcome = materialize_days([DAY])

    assert outcome.ok, outcome.errors
    assert platform.query(f"select user_agent from staging.staging_events where ts = {ts}") == [
        ('{"os":["Linux","é"],"v":1.5}',)
    ]


def test_a_day_is_cleared_only_on_purpose_by_a_tagged_run_over_its_emptied_file(platform):
    low, high = day_epoch_ms(DAY)
    other_days = f"select * from staging.staging_events where ts < {low} or ts >= {high} order by ts, session_id"
    before = platform.query(other_days)
    platform.day_file.write_bytes(b"")

    outcome = materialize_days([DAY], tags={CLEAR_EMPTY_DAYS_TAG: "true"})

    assert outcome.ok, outcome.errors
    assert platform.query(f"select count(*) from staging.staging_events where ts >= {low} and ts < {high}") == [(0,)]
    assert platform.query(f"select count(*) from analytics.songplays where cast(start_time as date) = '{DAY}'") == [
        (0,)
    ]
    assert platform.query(f"select count(*) from analytics.time where cast(start_time as date) = '{DAY}'") == [(0,)]
    assert platform.query(other_days) == before  # the other days are as they were


def test_a_stray_copy_beside_a_day_file_is_not_loaded(platform):
    before = platform.tables()
    stray = platform.day_file.with_name(platform.day_file.name + ".bak")
    stray.write_bytes(platform.day_file.read_bytes())

    outcome = materialize_days([DAY])

    assert outcome.ok, outcome.errors
    assert platform.tables() == before  # each event once, not twice


def test_crlf_lone_cr_and_blank_lines_are_read_alike_and_an_error_names_the_line_they_make(platform):
    before = platform.tables()
    original = platform.day_file.read_bytes()
    ends = (b"\r\n", b"\r", b"\n")  # line after line, as a file passed between systems may end them

    def mixed(content: bytes) -> bytes:
        lines = content.split(b"\n")
        # A blank line after line 3 (ended by LF: after a lone CR, its LF would make one CRLF).
        return b"".join(line + ends[n % 3] for n, line in enumerate([*lines[:3], b"", *lines[3:]]))

    platform.day_file.write_bytes(mixed(field_value("ts", b'"soon"')(original)))
    outcome = materialize_days([DAY])

    assert not outcome.ok
    # Line 5 of the file before, one blank line later: a lone CR ends a line as LF and CRLF do.
    assert f"{platform.day_file}, line {LINE + 1}, field 'ts': expected a bigint" in outcome.errors[0], outcome.errors

    platform.day_file.write_bytes(mixed(original))
    outcome = materialize_days([DAY])

    assert outcome.ok, outcome.errors
    assert any(c.name.endswith(CHECK_NAME) and c.passed for c in outcome.checks), outcome.checks
    assert platform.tables() == before
