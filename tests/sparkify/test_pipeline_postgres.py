"""Sparkify on a real Postgres server: a rerun changes nothing. (That Postgres holds DuckDB's tables is
tests/sparkify/test_four_warehouses.py; the helpers here read the seven tables of each.)"""

import datetime as dt

import duckdb

from tests.sparkify.runs import materialize_all, materialize_days

DAYS = [dt.date(2018, 11, 1), dt.date(2018, 11, 2), dt.date(2018, 11, 3)]
COLUMNS = {
    "staging.staging_events": 18,
    "staging.staging_songs": 10,
    "analytics.songplays": 9,
    "analytics.users": 5,
    "analytics.songs": 5,
    "analytics.artists": 5,
    "analytics.time": 7,
}


def _order(table: str) -> str:
    return ", ".join(str(i) for i in range(1, COLUMNS[table] + 1))


def duckdb_tables(path: str) -> dict[str, list[tuple]]:
    with duckdb.connect(path, read_only=True) as connection:
        return {t: connection.execute(f"select * from {t} order by {_order(t)}").fetchall() for t in COLUMNS}


def postgres_tables(server, database: str) -> dict[str, list[tuple]]:
    connection = server.connect(database)
    try:
        with connection.cursor() as cursor:
            tables = {}
            for table in COLUMNS:
                cursor.execute(f"select * from {table} order by {_order(table)}")
                tables[table] = cursor.fetchall()
            return tables
    finally:
        connection.close()


def test_rerunning_a_day_on_postgres_changes_nothing(postgres_env, postgres_server):
    assert all(outcome.ok for _, outcome in materialize_all(DAYS))
    before = postgres_tables(postgres_server, postgres_env["POSTGRES_DB"])
    assert materialize_days([DAYS[2]]).ok
    assert postgres_tables(postgres_server, postgres_env["POSTGRES_DB"]) == before
