"""The sample lake materialized on BigQuery (bqemulator) through the real jobs: the star the contract gives, and
a rerun changes nothing. (That BigQuery holds DuckDB's seven tables is tests/sparkify/test_four_warehouses.py.)

Staging loads go through the BigQuery warehouse (DuckDB → Parquet → load job → transaction); the models
run through dbt-bigquery, whose `api_endpoint` points at the emulator (profiles.yml). The analytics tables
are compared with expected_star (the contract read in plain Python, which the DuckDB pipeline matches row
for row in test_pipeline_duckdb.py).

Normalised before comparing (docs/bigquery.md): TIMESTAMPs come back aware (UTC), DuckDB's naive, and
BigQuery sorts NULL first. The values the models derive from a timestamp in each dialect's own way (the
text songplay_id hashes, the ISO week, the day of week) go through dbt_project/macros/timestamps.sql and
are compared as they are.
"""

import datetime as dt

from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

from tests.sparkify.expected_star import expected_star
from tests.sparkify.runs import materialize_all, materialize_days
from tests.sparkify.tables import STAGING_EVENTS, STAGING_SONGS
from tests.test_warehouse_bigquery import in_order

DAYS = [dt.date(2018, 11, 1), dt.date(2018, 11, 2), dt.date(2018, 11, 3)]
TABLES = ("songplays", "users", "songs", "artists", "time")


def _plain(value):
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def bigquery_tables(env) -> dict[str, list[tuple]]:
    client = bigquery.Client(
        project=env["BIGQUERY_PROJECT"],
        credentials=AnonymousCredentials(),
        client_options=ClientOptions(api_endpoint=env["BIGQUERY_EMULATOR_HOST"]),
    )
    tables = [f"staging.{t.name}" for t in (STAGING_EVENTS, STAGING_SONGS)] + [f"analytics.{t}" for t in TABLES]
    return {
        t: in_order([tuple(_plain(v) for v in row.values()) for row in client.query(f"select * from {t}").result()])
        for t in tables
    }


def in_duckdb_terms(tables: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    """The analytics tables in expected_star's shape."""
    return {
        "songplays": sorted(tables["analytics.songplays"]),
        "users": sorted(tables["analytics.users"]),
        "songs": sorted(tables["analytics.songs"]),
        "artist_ids": sorted(row[0] for row in tables["analytics.artists"]),
        "time": sorted(tables["analytics.time"]),
    }


def test_bigquery_gives_the_contracts_star_and_a_rerun_changes_nothing(dbt_on_emulator, sample_lake):
    assert all(outcome.ok for _, outcome in materialize_all(DAYS))
    tables = bigquery_tables(dbt_on_emulator)

    assert all(tables.values())
    assert in_duckdb_terms(tables) == expected_star(sample_lake.root)

    # The tables exist now, so this run takes the incremental paths: replace_window and delete+insert.
    assert materialize_days([DAYS[1]]).ok
    assert bigquery_tables(dbt_on_emulator) == tables
