"""The DuckDB warehouse: identifiers, the statements it builds, and transactional replace-by-window loads."""

import duckdb
import pytest

from pipeline.lib.identifiers import checked_identifier, quote
from pipeline.lib.lake import LocalLake, S3Access
from pipeline.lib.warehouse import Column, DuckDBWarehouse, JsonBatch, LoadError, TableSpec
from pipeline.lib.warehouse.duckdb import s3_secret_sql

TABLE = TableSpec("staging", "events", (Column("event_id", "integer", "id"), Column("ts", "bigint", "ts")))


@pytest.mark.parametrize("bad", ["", "1abc", "a-b", 'a"b', "a b", "x; drop table y", "a" * 128, None])
def test_identifiers_are_refused_unless_plain(bad):
    with pytest.raises(ValueError, match="invalid SQL"):
        checked_identifier(bad)


def test_table_specs_validate_their_names():
    assert quote("staging_events") == '"staging_events"'
    with pytest.raises(ValueError, match="schema name"):
        TableSpec("stag ing", "t", ())
    with pytest.raises(ValueError, match="column name"):
        Column("bad-name", "text", "x")
    with pytest.raises(ValueError, match="not one of"):
        Column("x", "varchar", "x")


def test_s3_secret_targets_the_endpoint_path_style():
    sql = s3_secret_sql(S3Access("eu-west-1", "http://127.0.0.1:9000", "AKIA", "se'cret", None))
    assert "endpoint '127.0.0.1:9000'" in sql and "url_style 'path'" in sql and "use_ssl false" in sql
    assert "secret 'se''cret'" in sql and "region 'eu-west-1'" in sql
    assert "endpoint" not in s3_secret_sql(S3Access("us-east-1", None, "AKIA", "s", "token"))


@pytest.fixture
def setup(tmp_path):
    (tmp_path / "lake").mkdir()
    (tmp_path / "lake" / "day1.json").write_text('{"id": 1, "ts": 100}\n{"id": 2, "ts": 150}')
    (tmp_path / "lake" / "day2.json").write_text('{"id": 3, "ts": 200}')
    (tmp_path / "lake" / "bad.json").write_text('{"id": 4, "ts": 210}\n{"id": 5, "ts": 999}')
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"), extension_dir=str(tmp_path / "ext"))
    return LocalLake(tmp_path / "lake"), warehouse


def _batch(key, low, high):
    return JsonBatch(keys=(key,), window_column="ts", low=low, high=high, label=key)


def test_batches_replace_their_window_and_reloads_are_idempotent(setup):
    lake, warehouse = setup
    assert warehouse.replace_from_json(lake, TABLE, [_batch("day1.json", 100, 200), _batch("day2.json", 200, 300)]) == [
        2,
        1,
    ]
    assert warehouse.replace_from_json(lake, TABLE, [_batch("day2.json", 200, 300)]) == [1]
    assert warehouse.query("select event_id, ts from staging.events order by 1") == [(1, 100), (2, 150), (3, 200)]


def test_a_row_outside_the_window_rolls_back_every_batch(setup):
    lake, warehouse = setup
    warehouse.replace_from_json(lake, TABLE, [_batch("day1.json", 100, 200)])
    with pytest.raises(LoadError) as error:
        warehouse.replace_from_json(lake, TABLE, [_batch("day2.json", 200, 300), _batch("bad.json", 200, 300)])
    assert error.value.batch.keys == ("bad.json",) and "outside [200, 300)" in str(error.value)
    assert warehouse.query("select event_id from staging.events order by 1") == [(1,), (2,)]


def test_a_batch_without_window_replaces_the_whole_table(setup):
    lake, warehouse = setup
    warehouse.replace_from_json(lake, TABLE, [_batch("day1.json", 100, 200)])
    assert warehouse.replace_from_json(lake, TABLE, [JsonBatch(keys=("day2.json",), label="all")]) == [1]
    assert warehouse.row_count("staging.events") == 1
    with pytest.raises(ValueError):
        warehouse.row_count("staging.events; drop table x")


def test_the_database_file_is_closed_after_each_load(setup):
    lake, warehouse = setup
    warehouse.replace_from_json(lake, TABLE, [_batch("day1.json", 100, 200)])
    with duckdb.connect(warehouse.path) as other_writer:  # would fail on the file lock if a connection leaked
        other_writer.execute("select 1")


def test_the_file_ledger_is_written_with_the_rows_or_not_at_all(setup):
    from pipeline.lib.warehouse import FileLedger, ledger_table

    lake, warehouse = setup
    ledger = ledger_table(TABLE)
    assert warehouse.loaded_files(ledger) == {}
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
    assert warehouse.row_count("staging.events") == 3
    with pytest.raises(LoadError):
        warehouse.replace_from_json(
            lake, TABLE, [_batch("bad.json", 200, 300)], FileLedger(ledger, (("bad.json", "v1"),), replace=False)
        )
    assert warehouse.loaded_files(ledger) == {"day1.json": "v1", "day2.json": "v1"}
    assert warehouse.row_count("staging.events") == 3
