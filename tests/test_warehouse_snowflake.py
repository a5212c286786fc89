"""The Snowflake loader on a real fakesnow server, with only the COPY INTO statement swapped; and every
statement's exact SQL.

`FakesnowBackedSnowflake.run_copy` is the one seam (see pipeline/lib/warehouse/snowflake.py): fakesnow
0.11 has no JSON COPY, METADATA$FILENAME or stages on S3, so the seam fills the scratch table with the
objects of exactly the files in the COPY's FILES list (read by the Python reader), with their file and
row, and fails like Snowflake on a malformed file. The stage and file format DDL, the scratch table, the
contract and window check, the transaction (delete + typed insert from the VARIANT + ledger) and the
error lookup run for real.
"""

import datetime as dt
import json
import re

import pytest
from dagster_snowflake import SnowflakeResource
from snowflake.connector import errors as snowflake_errors

from pipeline.defs.sparkify.layout import event_key
from pipeline.defs.sparkify.partitions import day_epoch_ms
from pipeline.lib.json_records import RawDataError, iter_objects
from pipeline.lib.lake import open_lake
from pipeline.lib.settings import Settings
from pipeline.lib.warehouse import Column, FileLedger, JsonBatch, LoadError, TableSpec, ledger_table
from pipeline.lib.warehouse import snowflake_sql as sql
from pipeline.lib.warehouse.duckdb import lake_connection
from pipeline.lib.warehouse.snowflake import CopyJob, SnowflakeWarehouse
from tests.conftest import upload_tree
from tests.sparkify.tables import STAGING_EVENTS, STAGING_SONGS

BUCKET, PREFIX = "snowflake-lake", "udacity"
LAKE_URI = f"s3://{BUCKET}/{PREFIX}"
DAYS = [dt.date(2018, 11, 1), dt.date(2018, 11, 2)]
ROWS_PER_INSERT = 1000
_FILES = re.compile(r" files = \((?P<files>[^)]*)\) ")


def files_of(statement: str) -> list[str]:
    """The FILES list of a COPY statement, as lake keys."""
    return re.findall(r"'([^']*)'", _FILES.search(statement)["files"])


class FakesnowBackedSnowflake(SnowflakeWarehouse):
    """SnowflakeWarehouse whose COPY INTO is replaced by inserting the same files' objects (see the docstring)."""

    sent: list = []
    before_copy: list = []  # callables run before each COPY: a test's file landing mid-run

    def run_copy(self, cursor, job: CopyJob) -> None:
        self.sent.append(job.statement)
        for hook in self.before_copy:
            hook()
        if "file_format = (type = parquet)" in job.statement:
            self._copy_parquet(cursor, job)
            return
        keys = files_of(job.statement)
        assert tuple(keys) == job.keys
        rows = []
        for key in keys:
            try:
                with job.lake.open(key) as stream:
                    rows += [(json.dumps(obj), key, n) for n, (_, obj) in enumerate(iter_objects(stream, key), 1)]
            except RawDataError as exc:
                # Snowflake's own wording for a JSON parse failure under ON_ERROR = ABORT_STATEMENT.
                raise snowflake_errors.ProgrammingError(
                    msg=f"Error parsing JSON: {exc.problem}\n  File '{key}', line {exc.line}, character 1",
                    errno=100069,
                    sqlstate="22P02",
                ) from None
        for start in range(0, len(rows), ROWS_PER_INSERT):
            chunk = rows[start : start + ROWS_PER_INSERT]
            values = ", ".join("(%s, %s, %s)" for _ in chunk)
            cursor.execute(
                f'insert into "{job.scratch.upper()}" (RECORD, FILE_NAME, FILE_ROW) '
                f"select parse_json(column1), column2, column3 from values {values}",
                [v for row in chunk for v in row],
            )

    def _copy_parquet(self, cursor, job: CopyJob) -> None:
        """As COPY ... MATCH_BY_COLUMN_NAME reads Parquet: the listed files' columns, by name, into the scratch
        table (fakesnow's own COPY cannot fill a temporary table)."""
        assert tuple(files_of(job.statement)) == job.keys
        names = [c.name for c in job.table.columns]
        files = ", ".join(f"'{job.lake.uri(k)}'" for k in job.keys)
        with lake_connection(job.lake, Settings.from_env().duckdb_extension_dir) as connection:
            rows = connection.execute(f"select {', '.join(names)} from read_parquet([{files}])").fetchall()
        columns = ", ".join(f'"{n.upper()}"' for n in names)
        for start in range(0, len(rows), ROWS_PER_INSERT):
            chunk = rows[start : start + ROWS_PER_INSERT]
            values = ", ".join("(" + ", ".join(["%s"] * len(names)) + ")" for _ in chunk)
            cursor.execute(
                f'insert into "{job.scratch.upper()}" ({columns}) values {values}', [v for row in chunk for v in row]
            )


def fakesnow_warehouse(server, database: str, cls=FakesnowBackedSnowflake) -> SnowflakeWarehouse:
    cls.sent, cls.before_copy = [], []
    return cls(
        snowflake=SnowflakeResource(
            account=server.account,
            user="pipeline",
            password="fakesnow-takes-any",
            database=database,
            warehouse="COMPUTE_WH",
            additional_snowflake_connection_args=server.connection_args(),
        ),
        storage_integration="SPARKIFY_LAKE",
    )


@pytest.fixture
def snowflake(snowflake_server, request, s3_env, sample_lake):
    upload_tree(s3_env, sample_lake.root, BUCKET, PREFIX)
    return fakesnow_warehouse(snowflake_server, "W_" + request.node.name.upper()[:40])


def _day_batch(lake, day: dt.date) -> JsonBatch:
    low, high = day_epoch_ms(day)
    return JsonBatch(keys=(event_key(day),), window_column="ts", low=low, high=high, label=str(day))


def _objects(path) -> int:
    with open(path, "rb") as stream:
        return sum(1 for _ in iter_objects(stream, str(path)))


STAGE = sql.stage_name(LAKE_URI)


def test_days_load_exactly_their_files_and_replace_their_rows(snowflake, sample_lake, s3_env):
    lake = open_lake(LAKE_URI)
    # A stray backup beside day 1's file: COPY names its files, so it is never read.
    day_one = f"{PREFIX}/{event_key(DAYS[0])}"
    s3_env.copy_object(Bucket=BUCKET, Key=day_one + ".bak", CopySource={"Bucket": BUCKET, "Key": day_one})
    expected = [_objects(sample_lake.root / event_key(d)) for d in DAYS]

    assert snowflake.replace_from_json(lake, STAGING_EVENTS, [_day_batch(lake, d) for d in DAYS]) == expected
    assert snowflake.replace_from_json(lake, STAGING_EVENTS, [_day_batch(lake, DAYS[1])]) == expected[1:]

    assert snowflake.row_count("staging.staging_events") == sum(expected)
    assert [files_of(s) for s in snowflake.sent] == [[event_key(DAYS[0])], [event_key(DAYS[1])], [event_key(DAYS[1])]]
    assert snowflake.sent[0] == (
        'copy into "STAGING_EVENTS_LOAD_0" (RECORD, FILE_NAME, FILE_ROW) from (select $1, metadata$filename, '
        f'metadata$file_row_number from @"STAGING"."{STAGE}") files = (\'{event_key(DAYS[0])}\') '
        'file_format = (format_name = "STAGING"."LAKE_JSON") on_error = abort_statement force = true'
    )
    first = json.loads((sample_lake.root / event_key(DAYS[0])).read_text().split("\n", 1)[0])
    [row] = snowflake.query(
        "select user_id, session_id, length, ts, user_agent from staging.staging_events "
        f"where ts = {first['ts']} and session_id = {first['sessionId']} and item_in_session = {first['itemInSession']}"
    )
    assert row == (first["userId"], first["sessionId"], first["length"], first["ts"], first["userAgent"])


def test_a_bad_value_names_file_row_and_field_and_changes_nothing(snowflake, sample_lake, s3_env):
    lake = open_lake(LAKE_URI)
    snowflake.replace_from_json(lake, STAGING_EVENTS, [_day_batch(lake, d) for d in DAYS])
    before = snowflake.query("select * from staging.staging_events order by ts, session_id, item_in_session")
    lines = (sample_lake.root / event_key(DAYS[1])).read_text(encoding="utf-8").split("\n")
    lines[6] = lines[6].replace('"sessionId":', '"sessionId":1.5,"was":', 1)
    s3_env.put_object(Bucket=BUCKET, Key=f"{PREFIX}/{event_key(DAYS[1])}", Body="\n".join(lines).encode())

    with pytest.raises(LoadError) as error:
        snowflake.replace_from_json(lake, STAGING_EVENTS, [_day_batch(lake, DAYS[0]), _day_batch(lake, DAYS[1])])

    assert str(error.value) == (
        f"2018-11-02: {LAKE_URI}/{event_key(DAYS[1])}, line 7, field 'sessionId': expected a whole number"
    )
    assert snowflake.query("select * from staging.staging_events order by ts, session_id, item_in_session") == before


def test_a_row_outside_its_day_fails_the_window_check(snowflake, sample_lake, s3_env):
    lake = open_lake(LAKE_URI)
    lines = (sample_lake.root / event_key(DAYS[0])).read_text(encoding="utf-8").split("\n")
    lines[2] = re.sub(r'"ts":\d+', '"ts":1000', lines[2])
    s3_env.put_object(Bucket=BUCKET, Key=f"{PREFIX}/{event_key(DAYS[0])}", Body="\n".join(lines).encode())

    with pytest.raises(LoadError, match=r"line 3, field 'ts': not in 2018-11-01$"):
        snowflake.replace_from_json(lake, STAGING_EVENTS, [_day_batch(lake, DAYS[0])])
    assert snowflake.row_count("staging.staging_events") == 0


def test_malformed_json_fails_the_copy_naming_the_file(snowflake, sample_lake, s3_env):
    lake = open_lake(LAKE_URI)
    lines = (sample_lake.root / event_key(DAYS[0])).read_text(encoding="utf-8").split("\n")
    lines[4] = lines[4][:-5]
    s3_env.put_object(Bucket=BUCKET, Key=f"{PREFIX}/{event_key(DAYS[0])}", Body="\n".join(lines).encode())

    with pytest.raises(LoadError) as error:
        snowflake.replace_from_json(lake, STAGING_EVENTS, [_day_batch(lake, DAYS[0])])
    assert str(error.value).startswith(f"2018-11-01: Snowflake COPY failed in {LAKE_URI}/{event_key(DAYS[0])}: ")
    assert f"File '{event_key(DAYS[0])}', line 5" in str(error.value)


def test_songs_load_the_listed_files_only_with_their_ledger(snowflake, sample_lake, s3_env):
    lake = open_lake(LAKE_URI)
    keys = tuple(sorted(o.key for o in lake.list("song_data/")))
    late = "song_data/Z/Z/Z/TRZZZZZ_late.json"
    song = {
        "num_songs": 1,
        "artist_id": "AZ",
        "artist_latitude": None,
        "artist_longitude": None,
        "artist_location": "",
        "artist_name": "Late",
        "song_id": "SZ",
        "title": "Late",
        "duration": 1.0,
        "year": 0,
    }
    land = lambda: s3_env.put_object(Bucket=BUCKET, Key=f"{PREFIX}/{late}", Body=json.dumps(song).encode())  # noqa: E731
    snowflake.before_copy.append(land)  # lands after the listing, before the COPY
    ledger = FileLedger(ledger_table(STAGING_SONGS), tuple((k, "v1") for k in keys), replace=True)

    [count] = snowflake.replace_from_json(lake, STAGING_SONGS, [JsonBatch(keys=keys, label="songs")], ledger)

    assert count == snowflake.row_count("staging.staging_songs") == sample_lake.song_objects
    assert files_of(snowflake.sent[0]) == list(keys)
    assert snowflake.row_count("staging.staging_songs", "song_id = 'SZ'") == 0
    assert snowflake.loaded_files(ledger_table(STAGING_SONGS)) == dict.fromkeys(keys, "v1")


# ------------------------------------------------------------------ the statements, exactly


def test_stage_with_a_storage_integration():
    statement = sql.create_stage_sql("staging", LAKE_URI, sql.StageAuth(storage_integration="sparkify_lake"))
    assert statement.sql == (
        f'create stage if not exists "STAGING"."{STAGE}" url = \'{LAKE_URI}/\' '
        'storage_integration = "SPARKIFY_LAKE" file_format = (format_name = "STAGING"."LAKE_JSON")'
    )
    assert str(statement) == statement.sql


def test_stage_credentials_never_show_in_repr_or_str():
    auth = sql.StageAuth(access_key_id="AKIAEXAMPLEKEY123456", secret_access_key="s3cr3t/xyz+abc")
    statement = sql.create_stage_sql("staging", LAKE_URI, auth)
    assert "credentials = (aws_key_id = 'AKIAEXAMPLEKEY123456' aws_secret_key = 's3cr3t/xyz+abc')" in statement.sql
    for shown in (str(statement), repr(statement), repr(auth)):
        assert "AKIAEXAMPLEKEY123456" not in shown and "s3cr3t" not in shown
    assert "credentials = (aws_key_id = '***' aws_secret_key = '***')" in str(statement)


@pytest.mark.parametrize(
    "auth",
    [
        {"storage_integration": "bad-name"},
        {"storage_integration": "X", "access_key_id": "AKIAEXAMPLEKEY123456", "secret_access_key": "s"},
        {"access_key_id": "AKIAEXAMPLEKEY123456", "secret_access_key": "with space"},
        {},
    ],
)
def test_stage_auth_is_validated(auth):
    with pytest.raises(ValueError):
        sql.StageAuth(**auth)


def test_file_format_reads_json_as_the_contract_does():
    assert sql.create_file_format_sql("staging") == (
        'create file format if not exists "STAGING"."LAKE_JSON" type = json strip_outer_array = false '
        "strip_null_values = false ignore_utf8_errors = false skip_byte_order_mark = true allow_duplicate = false"
    )


def test_copy_names_every_file_and_refuses_what_it_cannot_name():
    assert files_of(sql.copy_into_scratch_sql("t_load", "staging", LAKE_URI, ["a/1.json", "a/2.json"])) == [
        "a/1.json",
        "a/2.json",
    ]
    for keys in ([], ["a'b.json"], ["/abs.json"], ["x\n.json"], [f"{i}.json" for i in range(1001)]):
        with pytest.raises(ValueError):
            sql.copy_into_scratch_sql("t_load", "staging", LAKE_URI, keys)
    with pytest.raises(ValueError):
        sql.copy_into_scratch_sql('t"; drop table x; --', "staging", LAKE_URI, ["a.json"])


def test_typed_insert_reads_each_field_from_the_variant():
    statement = sql.insert_from_scratch_sql(STAGING_EVENTS, "staging_events_load_0", JsonBatch(keys=("k",)))
    assert statement.startswith('insert into "STAGING"."STAGING_EVENTS" ("ARTIST", "AUTH", ')
    assert ' select RECORD:"artist"::varchar, RECORD:"auth"::varchar, ' in statement
    assert 'RECORD:"userId"::varchar' in statement and 'RECORD:"ts"::bigint' in statement
    assert 'RECORD:"length"::double' in statement and 'RECORD:"sessionId"::integer' in statement
    assert statement.endswith(' from "STAGING_EVENTS_LOAD_0"')


ANSWERS = TableSpec(
    "api_staging",
    "answers",
    (Column("run_hr", "bigint", "run_hr"), Column("source_key", "text", "source_key"), Column("name", "text", "name")),
)


def _hour_batch(key: str, hour: int = 202611301800, **fields) -> JsonBatch:
    added = {"run_hr": hour, "source_key": key, **fields}
    return JsonBatch(
        keys=(key,), window_column="run_hr", low=202611301800, high=202611301801, added_fields=tuple(added.items())
    )


def test_added_fields_are_typed_literals_and_not_read_from_the_variant():
    batch = _hour_batch("weather/202611301800/sao_paulo.json", source_key="it's.json")
    assert sql.insert_from_scratch_sql(ANSWERS, "answers_load_0", batch) == (
        'insert into "API_STAGING"."ANSWERS" ("RUN_HR", "SOURCE_KEY", "NAME") '
        "select 202611301800::bigint, 'it''s.json'::varchar, RECORD:\"name\"::varchar from \"ANSWERS_LOAD_0\""
    )
    # Nothing of the variant is checked: the window column is a literal, checked before any SQL.
    assert " where false" in sql.first_break_sql("answers_load_0", ANSWERS, batch)
    for wrong in (_hour_batch("k", hour=202611301900), _hour_batch("k", run_hr="202611301800")):
        with pytest.raises(ValueError, match="run_hr"):
            sql.insert_from_scratch_sql(ANSWERS, "answers_load_0", wrong)


def test_window_check_and_delete():
    batch = JsonBatch(keys=("k",), window_column="ts", low=10, high=20, label="day")
    check = sql.first_break_sql("s", STAGING_EVENTS, batch)
    names = [c.name for c in STAGING_EVENTS.columns]
    item, ts = names.index("item_in_session"), names.index("ts")
    assert check.startswith(
        f'with parsed as (select FILE_NAME, FILE_ROW, RECORD:"itemInSession"::varchar as T{item}, '
        f'try_to_double(RECORD:"itemInSession"::varchar) as N{item}, '
    )
    assert f'RECORD:"ts"::varchar as T{ts}, try_to_double(RECORD:"ts"::varchar) as N{ts} from "S")' in check
    assert f"when (N{ts} is null or N{ts} < 10 or N{ts} >= 20) then 'not in day'" in check
    assert f"when N{item} <> floor(N{item}) then 'itemInSession'" in check
    assert check.endswith("from checked where FIELD is not null order by FILE_NAME, FILE_ROW limit 1")
    assert check.endswith("order by FILE_NAME, FILE_ROW limit 1")
    assert (
        sql.delete_sql(STAGING_EVENTS, "ts", 10, 20)
        == 'delete from "STAGING"."STAGING_EVENTS" where "TS" >= 10 and "TS" < 20'
    )
    assert sql.delete_sql(STAGING_SONGS) == 'delete from "STAGING"."STAGING_SONGS"'


def test_scratch_and_ledger_statements():
    assert sql.use_schema_sql("staging") == 'use schema "STAGING"'
    assert sql.create_table_sql(ledger_table(STAGING_SONGS)) == [
        'create schema if not exists "STAGING"',
        'create table if not exists "STAGING"."STAGING_SONGS_FILES" ("KEY" varchar, "VERSION" varchar)',
    ]
    assert sql.table_exists_sql(STAGING_SONGS) == (
        "select count(*) from information_schema.tables where table_schema = 'STAGING' and table_name = 'STAGING_SONGS'"
    )
    assert sql.count_sql("t_load_0") == 'select count(*) from "T_LOAD_0"'
    assert sql.drop_scratch_sql("t_load_0") == 'drop table if exists "T_LOAD_0"'
    assert sql.create_scratch_sql("t_load_0") == (
        'create or replace temporary table "T_LOAD_0" (RECORD variant, FILE_NAME varchar, FILE_ROW bigint)'
    )
    ledger = FileLedger(ledger_table(STAGING_SONGS), (("a.json", "1"),), replace=False)
    assert sql.ledger_sql(ledger) == (
        ['delete from "STAGING"."STAGING_SONGS_FILES" where "KEY" in (\'a.json\')'],
        'insert into "STAGING"."STAGING_SONGS_FILES" ("KEY", "VERSION") values (%s, %s)',
    )


def test_the_resource_holds_no_secret_in_its_repr():
    warehouse = SnowflakeWarehouse(
        snowflake=SnowflakeResource(account="acme-x1", user="pipeline", password="pw-secret", database="D"),
        stage_aws_key_id="AKIAEXAMPLEKEY123456",
        stage_aws_secret_key="s3cr3t",
    )
    assert "s3cr3t" not in repr(warehouse) and "AKIAEXAMPLEKEY123456" not in repr(warehouse)
    assert "s3cr3t" not in repr(warehouse.stage_auth())


def test_parquet_months_load_by_copy_of_their_exact_files_and_replace_their_month(snowflake, tmp_path, s3_env):
    from pipeline.defs.nyc_taxi.duckdb_engine import stage_month
    from pipeline.defs.nyc_taxi.lake_files import layer_files
    from pipeline.defs.nyc_taxi.layout import trips_folder
    from pipeline.defs.nyc_taxi.sample_data import TaxiSpec, generate_months
    from pipeline.defs.nyc_taxi.warehouse_assets import green_trips_table

    GREEN_TRIPS = green_trips_table("nyc")
    from pipeline.lib.warehouse import ParquetBatch

    months = generate_months(tmp_path / "nyc", TaxiSpec(months=2, trips_per_month=200))
    for month in months:
        stage_month(open_lake(str(tmp_path / "nyc")), month.month, Settings.from_env().duckdb_extension_dir)
    upload_tree(s3_env, tmp_path / "nyc", BUCKET, "nyc")
    lake = open_lake(f"s3://{BUCKET}/nyc")

    def batch(month) -> ParquetBatch:
        keys = layer_files(lake, trips_folder(month.month))
        return ParquetBatch(keys=keys, column="month", value=month.month, label=f"{month.month:%Y-%m}")

    assert snowflake.replace_from_parquet(lake, GREEN_TRIPS, [batch(m) for m in months]) == [200, 200]
    assert snowflake.replace_from_parquet(lake, GREEN_TRIPS, [batch(months[1])]) == [200]  # replaced, not added
    assert files_of(snowflake.sent[0]) == ["staging/nyc/2020-01/part-00000.parquet"]
    assert "file_format = (type = parquet) match_by_column_name = case_insensitive" in snowflake.sent[0]
    columns = ", ".join(column.name for column in GREEN_TRIPS.columns)
    loaded = snowflake.query(f"select {columns} from nyc.green_trips order by month, source_row")
    with lake_connection(lake, Settings.from_env().duckdb_extension_dir) as connection:
        files = ", ".join(f"'{lake.uri(k)}'" for m in months for k in batch(m).keys)
        staged = connection.execute(f"select {columns} from read_parquet([{files}]) order by month, source_row")
        assert [tuple(row) for row in loaded] == staged.fetchall()
