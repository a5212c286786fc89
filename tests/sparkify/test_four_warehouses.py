"""One lake on S3 (moto), materialized by the real jobs into DuckDB, Postgres, Snowflake (fakesnow, COPY seam) and
BigQuery (bqemulator): the seven tables hold the same rows in all four.

Normalised before comparing, and nothing else (docs/bigquery.md, docs/snowflake.md): rows are sorted in
Python with NULL first (BigQuery's SQL order differs from the others'), and BigQuery's aware UTC
timestamps are made naive as the other three return them (bigquery_tables). Column names (upper case in Snowflake) are
not compared; column order and every value are.
"""

from tests.sparkify.runs import materialize_all
from tests.sparkify.test_pipeline_bigquery import bigquery_tables
from tests.sparkify.test_pipeline_postgres import COLUMNS, DAYS, duckdb_tables, postgres_tables
from tests.test_warehouse_bigquery import in_order

WAREHOUSES = ("duckdb", "postgres", "snowflake", "bigquery")


def test_duckdb_postgres_snowflake_and_bigquery_hold_the_same_seven_tables(
    snowflake_env, postgres_env, postgres_server, dbt_on_emulator, monkeypatch
):
    # Every warehouse reads the lake snowflake_env uploaded to S3.
    for warehouse in WAREHOUSES:
        monkeypatch.setenv("WAREHOUSE", warehouse)
        outcomes = materialize_all(DAYS)
        assert all(outcome.ok for _, outcome in outcomes), (warehouse, [o.errors for _, o in outcomes])

    tables = {
        "duckdb": duckdb_tables(postgres_env["DUCKDB_PATH"]),
        "postgres": postgres_tables(postgres_server, postgres_env["POSTGRES_DB"]),
        "snowflake": {t: snowflake_env.query(f"select * from {t}") for t in COLUMNS},
        "bigquery": bigquery_tables(dbt_on_emulator),
    }
    tables = {w: {t: in_order(rows) for t, rows in by_table.items()} for w, by_table in tables.items()}

    assert all(tables["duckdb"][t] for t in COLUMNS)
    assert {w: {t: len(rows) for t, rows in tables[w].items()} for w in WAREHOUSES} == {
        w: {t: len(rows) for t, rows in tables["duckdb"].items()} for w in WAREHOUSES
    }
    for warehouse in WAREHOUSES[1:]:
        for table in COLUMNS:
            assert tables[warehouse][table] == tables["duckdb"][table], (warehouse, table)
