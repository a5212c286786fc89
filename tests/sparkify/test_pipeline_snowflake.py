"""Sparkify on Snowflake (a fakesnow server, only the COPY INTO swapped: tests/test_warehouse_snowflake.py) gives
the same warehouse as DuckDB from the same S3 lake, through the real jobs in process.

Types: fakesnow returns Snowflake's NUMBER and FLOAT columns as Python int and float, and TIMESTAMP_NTZ as
naive datetimes, as DuckDB does, so rows compare as they are; only column names differ in case (upper in
Snowflake), and rows are compared sorted, so no other normalisation is needed.
"""

import pytest

from pipeline.definitions import build_definitions
from pipeline.defs.sparkify.layout import event_key
from pipeline.lib import environment
from pipeline.lib.materialize import run_job
from pipeline.lib.settings import Settings
from tests.conftest import upload_tree
from tests.sparkify.runs import materialize_all
from tests.sparkify.test_pipeline_postgres import COLUMNS, DAYS, _order, duckdb_tables
from tests.test_warehouse_snowflake import fakesnow_warehouse

DATABASE = "SPARKIFY_E2E"


@pytest.fixture
def snowflake_env(snowflake_server, pipeline_env, s3_env, sample_lake, monkeypatch):
    upload_tree(s3_env, sample_lake.root, "sparkify-sf", "lake")
    values = {
        "WAREHOUSE": "snowflake",
        "SPARKIFY_DATA_URI": "s3://sparkify-sf/lake",
        "SNOWFLAKE_ACCOUNT": snowflake_server.account,
        "SNOWFLAKE_USER": "pipeline",
        "SNOWFLAKE_PASSWORD": "fakesnow-takes-any",
        "SNOWFLAKE_DATABASE": DATABASE,
        "SNOWFLAKE_WAREHOUSE": "COMPUTE_WH",
        **snowflake_server.env(),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    warehouse = fakesnow_warehouse(snowflake_server, DATABASE)
    monkeypatch.setitem(environment.WAREHOUSE_RESOURCES, "snowflake", lambda: warehouse)
    return warehouse


def snowflake_tables(warehouse) -> dict[str, list[tuple]]:
    return {t: warehouse.query(f"select * from {t} order by {_order(t)}") for t in COLUMNS}


def test_snowflake_and_duckdb_agree_row_for_row_from_s3(snowflake_env, pipeline_env, sample_lake, s3_env, monkeypatch):
    defs = build_definitions(Settings.from_env())
    songs = run_job("sparkify_songs", defs=defs)
    assert songs.ok, songs.errors
    daily = run_job("sparkify_daily", (DAYS[0].isoformat(), DAYS[-1].isoformat()), defs=defs)
    assert daily.ok, daily.errors
    in_snowflake = snowflake_tables(snowflake_env)

    # A bad value, then a malformed line, in day 2: the day fails naming file, line and field; nothing changes.
    day = DAYS[1]
    key, lines = f"lake/{event_key(day)}", (sample_lake.root / event_key(day)).read_text().split("\n")
    uri = f"s3://sparkify-sf/{key}"
    bad_value = lines[:6] + [lines[6].replace('"sessionId":', '"sessionId":"x","was":', 1)] + lines[7:]
    malformed = lines[:3] + [lines[3][:-3]] + lines[4:]
    for damaged, problem in (
        (bad_value, f"{uri}, line 7, field 'sessionId': expected an integer, found \"x\""),
        (malformed, f"{uri}, line 4: malformed JSON"),
    ):
        s3_env.put_object(Bucket="sparkify-sf", Key=key, Body="\n".join(damaged).encode())
        failed = run_job("sparkify_daily", (day.isoformat(), day.isoformat()), defs=defs)
        assert not failed.success
        assert any(f"staging.staging_events not loaded, nothing changed: {problem}" in e for e in failed.errors), (
            failed.errors
        )
        assert snowflake_tables(snowflake_env) == in_snowflake
    s3_env.put_object(Bucket="sparkify-sf", Key=key, Body="\n".join(lines).encode())

    monkeypatch.setenv("WAREHOUSE", "duckdb")
    assert all(outcome.ok for _, outcome in materialize_all(DAYS))
    in_duckdb = duckdb_tables(pipeline_env["DUCKDB_PATH"])

    assert all(in_snowflake[t] for t in COLUMNS)
    assert in_snowflake == in_duckdb
