"""The Postgres warehouse on a real server: COPY FROM STDIN loads, their transactions, and a connection lost
mid-COPY."""

import json
import threading
import time

import psycopg2
import pytest

from pipeline.lib.lake import LocalLake
from pipeline.lib.warehouse import Column, JsonBatch, LoadError, PostgresWarehouse, TableSpec
from pipeline.lib.warehouse.postgres import csv_field

TABLE = TableSpec(
    "staging",
    "events",
    (
        Column("event_id", "integer", "id"),
        Column("ts", "bigint", "ts"),
        Column("user_id", "text", "userId"),
        Column("length", "double", "length"),
    ),
)


@pytest.fixture
def warehouse(postgres_server, request):
    name = "w_" + request.node.name.lower().replace("[", "_").replace("]", "")[:40]
    postgres_server.create_database(name)
    return PostgresWarehouse(
        host=postgres_server.host,
        port=postgres_server.port,
        user=postgres_server.user,
        password=postgres_server.password,
        database=name,
    )


@pytest.fixture
def lake(tmp_path):
    (tmp_path / "day1.json").write_text(
        '{"id": 1, "ts": 100, "userId": "", "length": 218.93179}\n'
        '{\n  "id": 2,\n  "ts": 150,\n  "userId": "7 \\"quoted\\", comma",\n  "length": null\n}'
        '{"id": 3, "ts": 160, "userId": null}'
    )
    (tmp_path / "day2.json").write_text('{"id": 4, "ts": 200, "userId": "Bj\u00f6rk", "length": 0.1}')
    (tmp_path / "bad.json").write_text('{"id": 5, "ts": 210}\n{"id": "five", "ts": 220}')
    return LocalLake(tmp_path)


def _batch(key, low, high):
    return JsonBatch(keys=(key,), window_column="ts", low=low, high=high, label=key)


def test_csv_fields_keep_empty_strings_nulls_and_exact_doubles():
    assert [csv_field(v) for v in (None, "", 'a"b', 218.93179, 5, True)] == [
        "",
        '""',
        '"a""b"',
        "218.93179",
        "5",
        "true",
    ]


def test_loads_keep_raw_values_and_replace_their_window(warehouse, lake):
    assert warehouse.replace_from_json(lake, TABLE, [_batch("day1.json", 100, 200), _batch("day2.json", 200, 300)]) == [
        3,
        1,
    ]
    assert warehouse.replace_from_json(lake, TABLE, [_batch("day1.json", 100, 200)]) == [3]
    assert warehouse.query("select event_id, ts, user_id, length from staging.events order by 1") == [
        (1, 100, "", 218.93179),
        (2, 150, '7 "quoted", comma', None),
        (3, 160, None, None),
        (4, 200, "Björk", 0.1),
    ]


def test_a_bad_object_names_its_line_and_changes_nothing(warehouse, lake):
    warehouse.replace_from_json(lake, TABLE, [_batch("day1.json", 100, 200)])
    with pytest.raises(LoadError) as error:
        warehouse.replace_from_json(lake, TABLE, [_batch("day2.json", 200, 300), _batch("bad.json", 200, 300)])
    assert f"{lake.uri('bad.json')}, line 2, field 'id': expected an integer, found \"five\"" in str(error.value)
    assert warehouse.query("select count(*) from staging.events") == [(3,)]


def test_an_event_outside_the_window_is_refused(warehouse, lake):
    with pytest.raises(LoadError, match=r"line 2, field 'ts': 150 is not in day1.json"):
        warehouse.replace_from_json(lake, TABLE, [_batch("day1.json", 100, 120)])
    assert warehouse.query("select count(*) from pg_tables where tablename = 'events'") == [(1,)]
    assert warehouse.row_count("staging.events") == 0


def test_a_connection_lost_mid_copy_leaves_the_rows_and_a_rerun_loads_once(warehouse, lake, tmp_path, postgres_server):
    big = tmp_path / "big.json"
    big.write_text(
        "\n".join(json.dumps({"id": 10 + i, "ts": 1000 + i, "userId": str(i), "length": i / 3}) for i in range(400_000))
    )
    warehouse.replace_from_json(lake, TABLE, [_batch("day1.json", 100, 200)])
    before = warehouse.query("select * from staging.events order by 1")

    failure = []

    def load():
        try:
            warehouse.replace_from_json(lake, TABLE, [_batch("day1.json", 100, 200), _batch("big.json", 1000, 500_000)])
        except Exception as exc:  # what the loading step would see
            failure.append(exc)

    loader = threading.Thread(target=load)
    loader.start()
    killer = postgres_server.connect(warehouse.database)
    killer.autocommit = True
    terminated = False
    with killer.cursor() as cursor:
        for _ in range(400):
            cursor.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity "
                "where application_name = 'sparkify-pipeline' and query ilike 'copy %'"
            )
            if cursor.fetchall():
                terminated = True
                break
            time.sleep(0.02)
    loader.join(60)
    killer.close()

    assert terminated, "the COPY finished before it could be interrupted"
    assert len(failure) == 1 and isinstance(failure[0], psycopg2.OperationalError)  # transient: left to retries
    assert warehouse.query("select * from staging.events order by 1") == before

    assert warehouse.replace_from_json(
        lake, TABLE, [_batch("day1.json", 100, 200), _batch("big.json", 1000, 500_000)]
    ) == [3, 400_000]
    assert warehouse.query("select count(*), count(distinct event_id) from staging.events") == [(400_003, 400_003)]


def test_the_password_never_shows_in_the_resource_repr():
    warehouse = PostgresWarehouse(host="h", port=1, user="u", password="s3cr3t-value", database="d")
    assert "s3cr3t-value" not in repr(warehouse) and "s3cr3t-value" not in str(warehouse)


def test_the_file_ledger_is_written_with_the_rows_or_not_at_all(warehouse, lake):
    from pipeline.lib.warehouse import FileLedger, ledger_table

    ledger = ledger_table(TABLE)
    warehouse.replace_from_json(
        lake,
        TABLE,
        [JsonBatch(keys=("day1.json",), label="all")],
        FileLedger(ledger, (("day1.json", "v1"),), replace=True),
    )
    warehouse.replace_from_json(
        lake,
        TABLE,
        [JsonBatch(keys=("day2.json",), append=True, label="new")],
        FileLedger(ledger, (("day2.json", "v1"),), replace=False),
    )
    assert warehouse.loaded_files(ledger) == {"day1.json": "v1", "day2.json": "v1"}
    assert warehouse.row_count("staging.events") == 4
    with pytest.raises(LoadError):
        warehouse.replace_from_json(
            lake,
            TABLE,
            [JsonBatch(keys=("bad.json",), append=True, label="bad")],
            FileLedger(ledger, (("bad.json", "v1"),), replace=False),
        )
    assert warehouse.loaded_files(ledger) == {"day1.json": "v1", "day2.json": "v1"}
    assert warehouse.row_count("staging.events") == 4
