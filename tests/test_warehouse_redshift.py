"""The Redshift loader end to end on a real Postgres server, with only the COPY-from-S3 statement swapped.

`PostgresBackedRedshift.run_copy` is the one seam (see pipeline/lib/warehouse/redshift.py): it fills the
scratch table the way Redshift's COPY would (every object the COPY's manifest lists, read from the S3
server, fields mapped by the JSONPaths file) and, on a bad object, records the failure in a
`sys_load_error_detail` table and fails like Redshift. Scratch tables, the window check, delete + insert,
the transaction and the load-error lookup all run for real.
"""

import datetime as dt
import io
import json

import boto3
import psycopg2
import pytest

from pipeline.defs.sparkify.layout import JSONPATHS_KEY, event_key
from pipeline.defs.sparkify.partitions import day_epoch_ms
from pipeline.lib.json_records import RawDataError, iter_objects
from pipeline.lib.lake import open_lake
from pipeline.lib.settings import Settings
from pipeline.lib.warehouse import JsonBatch, LoadError
from pipeline.lib.warehouse.duckdb import lake_connection
from pipeline.lib.warehouse.postgres import _LineReader, csv_field
from pipeline.lib.warehouse.redshift import CopyJob, RedshiftWarehouse
from tests.conftest import upload_tree
from tests.sparkify.tables import STAGING_EVENTS, STAGING_SONGS

ROLE = "arn:aws:iam::123456789012:role/sparkify-copy"
COPY_ID = 4242
MANIFESTS = "s3://pipeline-scratch/redshift/manifests"


class PostgresBackedRedshift(RedshiftWarehouse):
    sent: list = []
    manifests: list = []  # the manifest objects' names, in COPY order
    listed: list = []  # the URIs each manifest listed

    def run_copy(self, cursor, job: CopyJob) -> None:
        self.sent.append(str(job.statement))
        assert job.statement.sql.startswith(f'copy "{job.scratch}"')
        manifest = job.statement.sql.split(" from '", 1)[1].split("'", 1)[0]
        bucket, key = manifest.removeprefix("s3://").split("/", 1)
        entries = json.loads(boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())["entries"]
        assert all(entry["mandatory"] for entry in entries)
        keys = [entry["url"].removeprefix(job.lake.uri("")) for entry in entries]
        self.manifests.append(key.rsplit("/", 1)[1])
        self.listed.append([entry["url"] for entry in entries])
        if job.statement.sql.endswith(" manifest format as parquet"):
            self._copy_parquet(cursor, job, entries)
            return
        assert " manifest format as json " in job.statement.sql
        paths = None
        if " format as json 's3://" in job.statement.sql:
            with job.lake.open(JSONPATHS_KEY) as stream:
                paths = json.load(stream)["jsonpaths"]
        rows = _LineReader(self._rows(job, keys, paths))
        try:
            columns = ", ".join(f'"{c.name}"' for c in job.table.columns)
            cursor.copy_expert(f'copy "{job.scratch}" ({columns}) from stdin with (format csv)', rows)
        except psycopg2.Error:
            if rows.error is None:
                raise
            self._record_load_error(rows.error)
            raise psycopg2.errors.InternalError_(
                "Load into table 'x' failed. Check 'sys_load_error_detail' system table for details."
            ) from None

    def _copy_parquet(self, cursor, job: CopyJob, entries: list[dict]) -> None:
        """As Redshift reads Parquet: every listed file, whose size the manifest must give, columns by position."""
        for entry in entries:
            assert entry["meta"]["content_length"] == job.lake.stat(entry["url"].removeprefix(job.lake.uri(""))).size
        files = ", ".join(f"'{entry['url']}'" for entry in entries)
        with lake_connection(job.lake, Settings.from_env().duckdb_extension_dir) as connection:
            rows = connection.execute(f"select * from read_parquet([{files}])").fetchall()
        text = "".join(",".join(csv_field(_as_text(v)) for v in row) + "\n" for row in rows)
        cursor.copy_expert(f'copy "{job.scratch}" from stdin with (format csv)', io.StringIO(text))

    def _rows(self, job, keys, paths):
        for key in keys:
            uri = job.lake.uri(key)
            with job.lake.open(key) as stream:
                for line, record in iter_objects(stream, uri):
                    values = (
                        [record.get(p[3:-2]) for p in paths]
                        if paths
                        else [record.get(c.name) for c in job.table.columns]
                    )
                    for column, value in zip(job.table.columns, values, strict=True):
                        if column.type != "text" and isinstance(value, str):
                            raise RawDataError(
                                uri, line, f"Invalid digit, Value '{value[:1]}', Pos 0, Type: Long", column.name
                            )
                    yield ",".join(csv_field(v) for v in values) + "\n"

    def _record_load_error(self, error: RawDataError) -> None:
        # Redshift writes load errors outside the failed transaction: so does this, on its own connection.
        with self.connect() as connection, connection.cursor() as cursor:
            cursor.execute(
                "insert into sys_load_error_detail values (%s, %s, %s, %s, %s)",
                (COPY_ID, error.uri + "   ", error.line, error.field.ljust(127), error.problem.ljust(512)),
            )
            connection.commit()


@pytest.fixture
def redshift(postgres_server, request, s3_env, sample_lake):
    name = "r_" + request.node.name.lower().replace("[", "_").replace("]", "")[:40]
    postgres_server.create_database(name)
    with postgres_server.connect(name) as connection, connection.cursor() as cursor:
        cursor.execute(
            "create table sys_load_error_detail (query_id int, file_name char(256), line_number bigint, "
            "column_name char(127), error_message char(512))"
        )
        cursor.execute(f"create function pg_last_copy_id() returns int language sql as 'select {COPY_ID}'")
    upload_tree(s3_env, sample_lake.root, "redshift-lake", "udacity")
    if "pipeline-scratch" not in {b["Name"] for b in s3_env.list_buckets()["Buckets"]}:
        s3_env.create_bucket(Bucket="pipeline-scratch")
    PostgresBackedRedshift.sent, PostgresBackedRedshift.manifests, PostgresBackedRedshift.listed = [], [], []
    return PostgresBackedRedshift(
        host=postgres_server.host,
        port=postgres_server.port,
        user=postgres_server.user,
        password=postgres_server.password,
        database=name,
        sslmode="disable",
        iam_role=ROLE,
        manifest_prefix=MANIFESTS,
    )


def _day_batch(lake, day: dt.date) -> JsonBatch:
    low, high = day_epoch_ms(day)
    return JsonBatch(
        keys=(event_key(day),), window_column="ts", low=low, high=high, label=str(day), jsonpaths_key=JSONPATHS_KEY
    )


DAYS = [dt.date(2018, 11, 1), dt.date(2018, 11, 2)]


def test_days_load_by_copy_with_jsonpaths_and_replace_their_rows(redshift, sample_lake):
    lake = open_lake("s3://redshift-lake/udacity")
    counts = redshift.replace_from_json(lake, STAGING_EVENTS, [_day_batch(lake, d) for d in DAYS])
    expected = [sum(1 for _ in iter_objects(open(sample_lake.root / event_key(d), "rb"), "x")) for d in DAYS]
    assert counts == expected
    assert redshift.replace_from_json(lake, STAGING_EVENTS, [_day_batch(lake, DAYS[1])]) == expected[1:]
    assert redshift.row_count("staging.staging_events") == sum(expected)
    assert redshift.sent[0] == (
        f'copy "staging_events_load" ({", ".join(chr(34) + c.name + chr(34) for c in STAGING_EVENTS.columns)}) '
        f"from '{MANIFESTS}/{redshift.manifests[0]}' iam_role '{ROLE}' "
        "manifest format as json 's3://redshift-lake/udacity/log_json_path.json' "
        "maxerror 0 compupdate off statupdate off"
    )
    assert redshift.listed[0] == ["s3://redshift-lake/udacity/log_data/2018/11/2018-11-01-events.json"]


def test_songs_load_by_one_copy_of_a_manifest_listing_every_file(redshift, sample_lake):
    lake = open_lake("s3://redshift-lake/udacity")
    keys = tuple(o.key for o in lake.list("song_data/"))
    [count] = redshift.replace_from_json(lake, STAGING_SONGS, [JsonBatch(keys=keys, label="songs")])
    assert count == redshift.row_count("staging.staging_songs") == sample_lake.song_objects
    assert len(redshift.sent) == 1 and "manifest format as json 'auto'" in redshift.sent[0]
    assert redshift.listed[0] == [lake.uri(k) for k in keys]


def test_a_failed_copy_quotes_the_load_error_table_and_changes_nothing(redshift, sample_lake, s3_env):
    lake = open_lake("s3://redshift-lake/udacity")
    redshift.replace_from_json(lake, STAGING_EVENTS, [_day_batch(lake, d) for d in DAYS])
    lines = (sample_lake.root / event_key(DAYS[1])).read_text(encoding="utf-8").split("\n")
    lines[6] = lines[6].replace('"sessionId":', '"sessionId":"x","was":', 1)
    s3_env.put_object(Bucket="redshift-lake", Key=f"udacity/{event_key(DAYS[1])}", Body="\n".join(lines).encode())

    with pytest.raises(LoadError) as error:
        redshift.replace_from_json(lake, STAGING_EVENTS, [_day_batch(lake, DAYS[0]), _day_batch(lake, DAYS[1])])

    assert str(error.value) == (
        f"2018-11-02: Redshift COPY failed: s3://redshift-lake/udacity/{event_key(DAYS[1])}, line 7, "
        "column session_id: Invalid digit, Value 'x', Pos 0, Type: Long"
    )
    assert redshift.row_count("staging.staging_events", "ts >= 1541116800000") == len(lines)  # day 2 as it was


def test_rows_outside_the_day_fail_the_batch(redshift, sample_lake, s3_env):
    lake = open_lake("s3://redshift-lake/udacity")
    s3_env.put_object(
        Bucket="redshift-lake",
        Key=f"udacity/{event_key(DAYS[0])}",
        Body=(sample_lake.root / event_key(DAYS[1])).read_bytes(),
    )
    with pytest.raises(LoadError, match=r"2018-11-01: \d+ row\(s\) with ts outside \[1541030400000, 1541116800000\)"):
        redshift.replace_from_json(lake, STAGING_EVENTS, [_day_batch(lake, DAYS[0])])
    assert redshift.query("select count(*) from pg_tables where tablename = 'staging_events'") == [(1,)]
    assert redshift.row_count("staging.staging_events") == 0


def test_redshift_only_loads_from_s3(redshift, sample_lake):
    with pytest.raises(ValueError, match="COPY from S3"):
        redshift.replace_from_json(open_lake(str(sample_lake.root)), STAGING_SONGS, [])


def test_copy_without_role_is_refused_with_the_variables_to_set():
    warehouse = RedshiftWarehouse(host="h", port=5439, user="u", database="d")
    with pytest.raises(ValueError, match="REDSHIFT_IAM_ROLE .* or REDSHIFT_COPY_ROLE_ARN"):
        warehouse.copy_auth()


def test_new_song_files_are_copied_by_one_manifest_and_recorded(redshift, sample_lake, s3_env):
    from pipeline.lib.warehouse import FileLedger, ledger_table

    lake = open_lake("s3://redshift-lake/udacity")
    keys = tuple(o.key for o in lake.list("song_data/"))
    ledger = ledger_table(STAGING_SONGS)
    redshift.replace_from_json(
        lake,
        STAGING_SONGS,
        [JsonBatch(keys=keys, label="all")],
        FileLedger(ledger, tuple((k, "v") for k in keys), replace=True),
    )
    new_keys = ("song_data/N/E/W/TRNEW00000000001.json", "song_data/N/E/W/TRNEW00000000002.json")
    for n, key in enumerate(new_keys):
        song = {"artist_id": f"ARNEW{n}", "song_id": f"SONEW{n}", "title": "New", "artist_name": "N", "duration": 1.5}
        s3_env.put_object(Bucket="redshift-lake", Key=f"udacity/{key}", Body=json.dumps(song).encode())
    redshift.sent.clear()

    [added] = redshift.replace_from_json(
        lake,
        STAGING_SONGS,
        [JsonBatch(keys=new_keys, append=True, label="new")],
        FileLedger(ledger, tuple((k, "v") for k in new_keys), replace=False),
    )

    assert added == 2 and len(redshift.sent) == 1
    assert redshift.listed[-1] == [lake.uri(k) for k in new_keys]
    assert redshift.loaded_files(ledger) == dict.fromkeys(keys + new_keys, "v")
    assert redshift.row_count("staging.staging_songs") == sample_lake.song_objects + 2
    for key in new_keys:  # the bucket is shared by this module's tests
        s3_env.delete_object(Bucket="redshift-lake", Key=f"udacity/{key}")


def _manifests_left(s3) -> list[str]:
    listed = s3.list_objects_v2(Bucket="pipeline-scratch", Prefix="redshift/manifests/")
    return [o["Key"] for o in listed.get("Contents", [])]


def test_a_stray_copy_beside_a_day_file_is_not_loaded_and_no_manifest_is_left(redshift, sample_lake, s3_env):
    lake = open_lake("s3://redshift-lake/udacity")
    key = f"udacity/{event_key(DAYS[0])}.bak"
    s3_env.put_object(Bucket="redshift-lake", Key=key, Body=(sample_lake.root / event_key(DAYS[0])).read_bytes())
    try:
        [count] = redshift.replace_from_json(lake, STAGING_EVENTS, [_day_batch(lake, DAYS[0])])
    finally:
        s3_env.delete_object(Bucket="redshift-lake", Key=key)
    expected = sum(1 for _ in iter_objects(open(sample_lake.root / event_key(DAYS[0]), "rb"), "x"))
    assert count == redshift.row_count("staging.staging_events") == expected  # not twice
    assert _manifests_left(s3_env) == []


def test_a_song_file_landing_after_the_listing_is_neither_loaded_nor_recorded(redshift, sample_lake, s3_env):
    from pipeline.lib.warehouse import FileLedger, ledger_table

    lake = open_lake("s3://redshift-lake/udacity")
    keys = tuple(o.key for o in lake.list("song_data/"))  # the run's listing
    late = "udacity/song_data/L/A/T/TRLATE0000000001.json"
    song = {"artist_id": "ARLATE", "song_id": "SOLATE", "title": "Late", "artist_name": "L", "duration": 2.5}
    s3_env.put_object(Bucket="redshift-lake", Key=late, Body=json.dumps(song).encode())  # lands mid-run
    ledger = ledger_table(STAGING_SONGS)
    try:
        [count] = redshift.replace_from_json(
            lake,
            STAGING_SONGS,
            [JsonBatch(keys=keys, label="all")],
            FileLedger(ledger, tuple((k, "v") for k in keys), replace=True),
        )
    finally:
        s3_env.delete_object(Bucket="redshift-lake", Key=late)
    assert count == sample_lake.song_objects
    assert redshift.query("select count(*) from staging.staging_songs where song_id = 'SOLATE'") == [(0,)]
    assert set(redshift.loaded_files(ledger)) == set(keys)


def test_a_failed_copy_leaves_no_manifest_behind(redshift, sample_lake, s3_env):
    lake = open_lake("s3://redshift-lake/udacity")
    lines = (sample_lake.root / event_key(DAYS[1])).read_text(encoding="utf-8").split("\n")
    lines[2] = lines[2].replace('"sessionId":', '"sessionId":"x","was":', 1)
    key = f"udacity/{event_key(DAYS[1])}"
    s3_env.put_object(Bucket="redshift-lake", Key=key, Body="\n".join(lines).encode())
    try:
        with pytest.raises(LoadError, match="line 3, column session_id"):
            redshift.replace_from_json(lake, STAGING_EVENTS, [_day_batch(lake, DAYS[1])])
    finally:
        s3_env.upload_file(str(sample_lake.root / event_key(DAYS[1])), "redshift-lake", key)
    assert _manifests_left(s3_env) == []


def test_copy_without_a_manifest_prefix_is_refused_naming_the_variable(redshift, sample_lake):
    lake = open_lake("s3://redshift-lake/udacity")
    unconfigured = redshift.model_copy(update={"manifest_prefix": None})
    with pytest.raises(ValueError, match="REDSHIFT_MANIFEST_PREFIX"):
        unconfigured.replace_from_json(lake, STAGING_EVENTS, [_day_batch(lake, DAYS[0])])


def test_fields_a_batch_adds_are_set_on_its_rows_after_the_copy(redshift, s3_env):
    from pipeline.lib.warehouse import Column, TableSpec

    table = TableSpec(
        "api_staging",
        "answers",
        (
            Column("run_hr", "bigint", "run_hr"),
            Column("source_key", "text", "source_key"),
            Column("name", "text", "name"),
        ),
    )
    lake = open_lake("s3://redshift-lake/api")
    for city in ("tokyo", "zurich"):
        s3_env.put_object(Bucket="redshift-lake", Key=f"api/{city}.json", Body=json.dumps({"name": city}).encode())
    batches = [
        JsonBatch(
            keys=(f"{city}.json",),
            window_column="run_hr",
            low=202611301800,
            high=202611301801,
            append=n > 0,
            added_fields=(("run_hr", 202611301800), ("source_key", f"{city}.json")),
        )
        for n, city in enumerate(("tokyo", "zurich"))
    ]
    assert redshift.replace_from_json(lake, table, batches) == [1, 1]
    assert redshift.replace_from_json(lake, table, batches) == [1, 1]  # the hour replaced, not doubled
    assert sorted(redshift.query("select * from api_staging.answers")) == [
        (202611301800, "tokyo.json", "tokyo"),
        (202611301800, "zurich.json", "zurich"),
    ]
    assert all(" manifest format as json 'auto'" in sent for sent in redshift.sent)


def _as_text(value):
    return value.isoformat() if isinstance(value, dt.date) else value


def test_parquet_months_load_by_copy_of_their_exact_files_and_replace_their_month(redshift, tmp_path, s3_env):
    from pipeline.defs.nyc_taxi.duckdb_engine import read_layer_sql, stage_month
    from pipeline.defs.nyc_taxi.lake_files import layer_files
    from pipeline.defs.nyc_taxi.layout import trips_folder
    from pipeline.defs.nyc_taxi.sample_data import TaxiSpec, generate_months
    from pipeline.defs.nyc_taxi.warehouse_assets import green_trips_table

    GREEN_TRIPS = green_trips_table("nyc")
    from pipeline.lib.warehouse import ParquetBatch

    months = generate_months(tmp_path / "nyc", TaxiSpec(months=2, trips_per_month=200))
    for month in months:
        stage_month(open_lake(str(tmp_path / "nyc")), month.month, Settings.from_env().duckdb_extension_dir)
    s3_env.create_bucket(Bucket="taxi-lake")
    upload_tree(s3_env, tmp_path / "nyc", "taxi-lake", "nyc")
    lake = open_lake("s3://taxi-lake/nyc")

    def batch(month) -> ParquetBatch:
        keys = layer_files(lake, trips_folder(month.month))
        return ParquetBatch(keys=keys, column="month", value=month.month, label=f"{month.month:%Y-%m}")

    assert redshift.replace_from_parquet(lake, GREEN_TRIPS, [batch(m) for m in months]) == [200, 200]
    assert redshift.replace_from_parquet(lake, GREEN_TRIPS, [batch(months[1])]) == [200]  # replaced, not added

    assert redshift.sent[0] == (
        f"copy \"green_trips_load\" from '{MANIFESTS}/{redshift.manifests[0]}' iam_role '{ROLE}' "
        "manifest format as parquet"
    )
    assert redshift.listed[0] == ["s3://taxi-lake/nyc/staging/nyc/2020-01/part-00000.parquet"]
    columns = ", ".join(column.name for column in GREEN_TRIPS.columns)
    loaded = redshift.query(f"select {columns} from nyc.green_trips order by month, source_row")
    with lake_connection(lake, Settings.from_env().duckdb_extension_dir) as connection:
        staged = [
            row
            for month in months
            for row in connection.execute(
                f"select {columns} from {read_layer_sql(lake, trips_folder(month.month))} order by source_row"
            ).fetchall()
        ]
    assert loaded == staged
