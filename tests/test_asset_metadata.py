"""What the asset graph tells before any run, built for each warehouse without connecting to it: every loaded table
its columns typed as that warehouse names them (dagster/column_schema), every dbt model its columns with their
declared types, and every table its warehouse as kind and dagster/storage_kind."""

import dagster as dg
import pytest

from pipeline.defs.nyc_taxi.warehouse_assets import green_trips_table, main_data_table
from pipeline.defs.sparkify.staging_tables import staging_tables
from pipeline.defs.weather.staging import cocktails_stage_table, weather_stage_table
from pipeline.lib.warehouse.types import WAREHOUSE_TYPES
from tests.platform import definitions

WAREHOUSES = ("duckdb", "postgres", "redshift", "snowflake", "bigquery")
SPARKIFY = staging_tables("staging")
# Every table the Python loaders write, by asset key, in the default schemas.
LOADED = {
    "staging/staging_events": SPARKIFY.events,
    "staging/staging_songs": SPARKIFY.songs,
    "api_staging/weather_stage": weather_stage_table("api_staging"),
    "api_staging/cocktails_stage": cocktails_stage_table("api_staging"),
    "nyc/green_trips": green_trips_table("nyc"),
    "nyc/main_data": main_data_table("nyc"),
}


@pytest.fixture(scope="module", params=WAREHOUSES)
def built(request) -> tuple[str, dg.Definitions]:
    # Snowflake's resource wants some credential to be built; nothing connects.
    return request.param, definitions({"WAREHOUSE": request.param, "SNOWFLAKE_PASSWORD": "unused"})


def _tables(defs: dg.Definitions) -> dict[str, dg.AssetsDefinition]:
    """Every asset that is a warehouse table (it names its table), by key."""
    graph = defs.resolve_asset_graph()
    return {
        key.to_user_string(): graph.get(key)
        for key in graph.get_all_asset_keys()
        if "dagster/table_name" in graph.get(key).metadata
    }


def _columns(node) -> list[tuple[str, str]]:
    schema = node.metadata["dagster/column_schema"]
    return [(column.name, column.type) for column in getattr(schema, "schema", schema).columns]


def test_every_loaded_table_shows_its_columns_typed_as_its_warehouse_names_them(built):
    warehouse, defs = built
    tables = _tables(defs)
    loaded = {key: node for key, node in tables.items() if "dbt" not in node.kinds}
    assert set(loaded) == set(LOADED)
    types = WAREHOUSE_TYPES[warehouse]
    for key, node in loaded.items():
        spec = LOADED[key]
        assert node.metadata["dagster/table_name"] == spec.qualified
        assert _columns(node) == [(column.name, types[column.type]) for column in spec.columns], key


def test_a_column_type_is_the_one_the_warehouse_creates():
    """Spelled out for a few columns, so a wrong mapping cannot pass by agreeing with itself."""
    expected = {
        "duckdb": {"ts": "BIGINT", "length": "DOUBLE", "user_agent": "VARCHAR"},
        "postgres": {"ts": "bigint", "length": "double precision", "user_agent": "text"},
        "redshift": {"ts": "bigint", "length": "double precision", "user_agent": "varchar(65535)"},
        "snowflake": {"ts": "bigint", "length": "double", "user_agent": "varchar"},
        "bigquery": {"ts": "INT64", "length": "FLOAT64", "user_agent": "STRING"},
    }
    for warehouse in ("duckdb", "postgres", "bigquery"):  # the ones each build quickly here; the types are the same
        defs = definitions({"WAREHOUSE": warehouse})
        columns = dict(_columns(_tables(defs)["staging/staging_events"]))
        assert {name: columns[name] for name in expected[warehouse]} == expected[warehouse]
    assert {
        warehouse: {name: WAREHOUSE_TYPES[warehouse][SPARKIFY.events.column(name).type] for name in names}
        for warehouse, names in expected.items()
    } == expected


def test_every_dbt_model_shows_each_column_with_its_declared_type(built):
    _, defs = built
    models = {key: node for key, node in _tables(defs).items() if "dbt" in node.kinds}
    assert len(models) == 9, sorted(models)
    for key, node in models.items():
        columns = _columns(node)
        assert columns, key
        assert all(kind and kind != "?" for _, kind in columns), (key, columns)
    assert _columns(models["analytics/songs"]) == [
        ("song_id", "text"),
        ("title", "text"),
        ("artist_id", "text"),
        ("year", "integer"),
        ("duration", "double precision"),
    ]


def test_every_table_names_the_configured_warehouse_as_its_kind_and_storage(built):
    warehouse, defs = built
    for key, node in _tables(defs).items():
        expected_kinds = {"dbt", warehouse} if key not in LOADED else {warehouse}
        assert set(node.kinds) == expected_kinds, key
        assert node.metadata["dagster/storage_kind"] == warehouse, key
