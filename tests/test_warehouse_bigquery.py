"""The BigQuery loader on bqemulator (and fake-gcs-server for the staging bucket), both real servers on loopback.

DuckDB converts exactly the listed files to Parquet, a load job sends it into a scratch table, and one
multi-statement transaction replaces the batch's rows: every step runs on the emulator.
"""

import datetime as dt
import json
import shutil

import pytest
from dagster_gcp import GCSResource
from google.api_core import exceptions as google_errors
from google.cloud import storage

from pipeline.defs.sparkify.layout import JSONPATHS_KEY, event_key
from pipeline.defs.sparkify.partitions import day_epoch_ms
from pipeline.lib.json_records import iter_objects
from pipeline.lib.lake import open_lake
from pipeline.lib.load_errors import explain_load_error
from pipeline.lib.transient import is_transient
from pipeline.lib.warehouse import DuckDBWarehouse, FileLedger, JsonBatch, LoadError, ledger_table
from pipeline.lib.warehouse import bigquery_sql as sql
from pipeline.lib.warehouse.bigquery import BigQueryWarehouse
from pipeline.lib.warehouse.gcp_clients import EmulatedBigQueryResource
from tests.conftest import upload_tree
from tests.sparkify.tables import STAGING_EVENTS, STAGING_SONGS

DAYS = [dt.date(2018, 11, 1), dt.date(2018, 11, 2)]


@pytest.fixture
def lake_root(tmp_path, sample_lake):
    root = tmp_path / "lake"
    shutil.copytree(sample_lake.root, root)
    return root


@pytest.fixture
def warehouse(bigquery_env, extension_dir):
    return BigQueryWarehouse(
        bigquery=EmulatedBigQueryResource(
            project=bigquery_env["BIGQUERY_PROJECT"],
            location="US",
            emulator_host=bigquery_env["BIGQUERY_EMULATOR_HOST"],
        ),
        gcs=GCSResource(project=bigquery_env["BIGQUERY_PROJECT"]),
        extension_dir=str(extension_dir),
    )


def _day_batch(lake, day: dt.date) -> JsonBatch:
    low, high = day_epoch_ms(day)
    return JsonBatch(
        keys=(event_key(day),), window_column="ts", low=low, high=high, label=str(day), jsonpaths_key=JSONPATHS_KEY
    )


def _objects(path) -> int:
    with open(path, "rb") as stream:
        return sum(1 for _ in iter_objects(stream, str(path)))


def _tables(warehouse: BigQueryWarehouse, dataset: str) -> set[str]:
    with warehouse.bigquery.get_client() as client:
        return {t.table_id for t in client.list_tables(f"{client.project}.{dataset}")}


def in_order(rows: list[tuple]) -> list[tuple]:
    """Rows sorted the same way on every warehouse: BigQuery sorts NULL first, DuckDB last."""
    return sorted(rows, key=lambda row: [(value is None, value if value is not None else 0) for value in row])


def _events(warehouse) -> list[tuple]:
    return in_order(warehouse.query("select * from staging.staging_events"))


def test_days_load_with_the_same_values_as_duckdb_and_a_rerun_replaces_only_its_day(
    warehouse, lake_root, tmp_path, extension_dir
):
    lake = open_lake(str(lake_root))
    counts = warehouse.replace_from_json(lake, STAGING_EVENTS, [_day_batch(lake, d) for d in DAYS])
    assert counts == [_objects(lake_root / event_key(d)) for d in DAYS]

    duckdb = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"), extension_dir=str(extension_dir))
    duckdb.replace_from_json(lake, STAGING_EVENTS, [_day_batch(lake, d) for d in DAYS])
    in_duckdb = in_order(duckdb.query("select * from staging.staging_events"))
    assert _events(warehouse) == in_duckdb  # types and values alike: ts bigint, doubles unrounded, "" kept

    assert warehouse.replace_from_json(lake, STAGING_EVENTS, [_day_batch(lake, DAYS[1])]) == counts[1:]
    assert warehouse.replace_from_json(lake, STAGING_EVENTS, [_day_batch(lake, DAYS[1])]) == counts[1:]
    assert _events(warehouse) == in_duckdb
    assert _tables(warehouse, "staging") == {"staging_events"}  # no scratch table left


def test_a_malformed_line_names_file_line_and_field_and_changes_nothing(warehouse, lake_root):
    lake = open_lake(str(lake_root))
    warehouse.replace_from_json(lake, STAGING_EVENTS, [_day_batch(lake, d) for d in DAYS])
    before = _events(warehouse)
    path = lake_root / event_key(DAYS[1])
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[6] = lines[6].replace('"sessionId":', '"sessionId":"x","was":', 1)
    path.write_text("\n".join(lines), encoding="utf-8")

    with pytest.raises(LoadError) as error:
        warehouse.replace_from_json(lake, STAGING_EVENTS, [_day_batch(lake, d) for d in DAYS])

    message = explain_load_error(lake, STAGING_EVENTS, error.value)
    assert message == (
        f"staging.staging_events not loaded, nothing changed: {path}, line 7, field 'sessionId': "
        'expected an integer, found "x"'
    )
    assert _events(warehouse) == before
    assert _tables(warehouse, "staging") == {"staging_events"}


def test_rows_outside_the_day_fail_the_batch_and_change_nothing(warehouse, lake_root):
    lake = open_lake(str(lake_root))
    shutil.copy(lake_root / event_key(DAYS[1]), lake_root / event_key(DAYS[0]))
    with pytest.raises(LoadError, match=r"ts outside \[1541030400000, 1541116800000\) of 2018-11-01"):
        warehouse.replace_from_json(lake, STAGING_EVENTS, [_day_batch(lake, DAYS[0])])
    assert warehouse.row_count("staging.staging_events") == 0


def test_the_transactions_window_check_rolls_back_every_statement(warehouse, lake_root):
    """The check inside the transaction, past the conversion's own: its error undoes the deletes before it."""
    lake = open_lake(str(lake_root))
    [count] = warehouse.replace_from_json(lake, STAGING_EVENTS, [_day_batch(lake, DAYS[0])])
    warehouse.execute("create table staging.staging_events_stray as select * from staging.staging_events")
    first, second = _day_batch(lake, DAYS[0]), _day_batch(lake, DAYS[1])
    script = sql.transaction_script(
        STAGING_EVENTS, [sql.ScratchBatch(first, None), sql.ScratchBatch(second, "staging_events_stray")], None, None
    )
    with pytest.raises(google_errors.BadRequest, match=r"2018-11-02: rows with ts outside"):
        warehouse.execute(script)
    assert warehouse.row_count("staging.staging_events") == count


def test_only_the_listed_files_are_loaded_and_recorded(warehouse, lake_root):
    lake = open_lake(str(lake_root))
    shutil.copy(lake_root / event_key(DAYS[0]), lake_root / (event_key(DAYS[0]) + ".bak"))
    [day] = warehouse.replace_from_json(lake, STAGING_EVENTS, [_day_batch(lake, DAYS[0])])
    assert day == warehouse.row_count("staging.staging_events") == _objects(lake_root / event_key(DAYS[0]))

    keys = tuple(sorted(o.key for o in lake.list("song_data/")))
    late = lake_root / "song_data" / "L" / "A" / "T" / "TRLATE0000000001.json"  # lands after the listing
    late.parent.mkdir(parents=True)
    late.write_text(json.dumps({"song_id": "SOLATE", "title": "Late", "artist_id": "ARLATE", "duration": 1.5}))
    ledger = ledger_table(STAGING_SONGS)
    [songs] = warehouse.replace_from_json(
        lake,
        STAGING_SONGS,
        [JsonBatch(keys=keys, label="songs")],
        FileLedger(ledger, tuple((k, "v1") for k in keys), True),
    )
    assert songs == warehouse.row_count("staging.staging_songs") == sum(_objects(lake_root / k) for k in keys)
    assert warehouse.query("select count(*) from staging.staging_songs where song_id = 'SOLATE'") == [(0,)]
    assert warehouse.loaded_files(ledger) == dict.fromkeys(keys, "v1")

    late_key = str(late.relative_to(lake_root))
    [added] = warehouse.replace_from_json(
        lake,
        STAGING_SONGS,
        [JsonBatch(keys=(late_key,), append=True, label="new")],
        FileLedger(ledger, ((late_key, "v1"),), replace=False),
    )
    assert added == 1 and warehouse.row_count("staging.staging_songs") == songs + 1
    assert warehouse.loaded_files(ledger) == dict.fromkeys((*keys, late_key), "v1")
    assert _tables(warehouse, "staging") == {"staging_songs", "staging_songs_files", "staging_events"}


def test_an_s3_lake_loads_through_the_gcs_staging_bucket(warehouse, sample_lake, s3_env, bigquery_env):
    upload_tree(s3_env, sample_lake.root, "bigquery-lake", "udacity")
    lake = open_lake("s3://bigquery-lake/udacity")
    gcs = storage.Client(project=bigquery_env["BIGQUERY_PROJECT"])
    bucket = gcs.create_bucket(f"stage-{bigquery_env['BIGQUERY_PROJECT']}")
    staged = warehouse.model_copy(update={"staging_bucket": bucket.name})

    counts = staged.replace_from_json(lake, STAGING_EVENTS, [_day_batch(lake, d) for d in DAYS])

    assert counts == [_objects(sample_lake.root / event_key(d)) for d in DAYS]
    assert staged.row_count("staging.staging_events") == sum(counts)
    assert list(gcs.list_blobs(bucket.name)) == []  # each load file is deleted after its load job


@pytest.mark.parametrize(
    ("fault", "transient"),
    [
        (google_errors.TooManyRequests("quota"), True),
        (google_errors.ServiceUnavailable("down"), True),
        (google_errors.Forbidden("slow down", errors=[{"reason": "rateLimitExceeded"}]), True),
        (google_errors.BadRequest("syntax", errors=[{"reason": "invalidQuery"}]), False),
        (google_errors.Forbidden("denied", errors=[{"reason": "accessDenied"}]), False),
    ],
)
def test_bigquery_faults_retried_are_throttling_and_service_errors_only(fault, transient):
    assert is_transient(fault) is transient


def test_parquet_months_load_as_duckdb_reads_them_and_a_rerun_replaces_only_its_month(warehouse, tmp_path):
    from pipeline.defs.nyc_taxi.duckdb_engine import read_layer_sql, stage_month
    from pipeline.defs.nyc_taxi.lake_files import layer_files
    from pipeline.defs.nyc_taxi.layout import trips_folder
    from pipeline.defs.nyc_taxi.sample_data import TaxiSpec, generate_months
    from pipeline.defs.nyc_taxi.warehouse_assets import green_trips_table

    GREEN_TRIPS = green_trips_table("nyc")
    from pipeline.lib.warehouse import ParquetBatch
    from pipeline.lib.warehouse.duckdb import lake_connection

    lake = open_lake(str(tmp_path / "nyc"))
    months = generate_months(tmp_path / "nyc", TaxiSpec(months=2, trips_per_month=150))
    for month in months:
        stage_month(lake, month.month, warehouse.extension_dir)
    batches = [
        ParquetBatch(keys=layer_files(lake, trips_folder(m.month)), column="month", value=m.month, label=str(m.month))
        for m in months
    ]

    assert warehouse.replace_from_parquet(lake, GREEN_TRIPS, batches) == [150, 150]
    assert warehouse.replace_from_parquet(lake, GREEN_TRIPS, batches[1:]) == [150]  # replaced, not added

    columns = ", ".join(column.name for column in GREEN_TRIPS.columns)
    loaded = in_order(warehouse.query(f"select {columns} from nyc.green_trips"))
    with lake_connection(lake, warehouse.extension_dir) as connection:
        staged = [
            row
            for m in months
            for row in connection.execute(
                f"select {columns} from {read_layer_sql(lake, trips_folder(m.month))}"
            ).fetchall()
        ]
    assert loaded == in_order(staged)
    assert _tables(warehouse, "nyc") == {"green_trips"}  # no scratch table left
