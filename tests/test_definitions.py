"""The whole code location loads, with the asset keys, checks, jobs and partitions the product promises."""

import dagster as dg

from pipeline.definitions import defs

STAR = ["songplays", "users", "songs", "artists", "time"]


def group_keys(group: str) -> set[str]:
    graph = defs.resolve_asset_graph()
    return {key.to_user_string() for key in graph.get_all_asset_keys() if graph.get(key).group_name == group}


def test_asset_graph_has_raw_staging_and_star_schema():
    keys = group_keys("sparkify")
    assert keys == {
        "raw/log_data",
        "raw/song_data",
        "staging/staging_events",
        "staging/staging_songs",
        *(f"analytics/{model}" for model in STAR),
    }


def test_every_daily_asset_backfills_in_a_single_run():
    graph = defs.resolve_asset_graph()
    daily = {"raw/log_data", "staging/staging_events", "analytics/songplays", "analytics/time", "analytics/users"}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if node.group_name != "sparkify":
            continue
        if key.to_user_string() in daily:
            assert node.partitions_def is not None and node.backfill_policy == dg.BackfillPolicy.single_run()
        else:
            assert node.partitions_def is None, key


def test_checks_cover_keys_relationships_reconciliation_and_yaml():
    checks = {key.to_user_string() for key in defs.resolve_asset_graph().asset_check_keys}
    for model in STAR:
        assert any(c.startswith(f"analytics/{model}:unique_") for c in checks), model
        assert any(c.startswith(f"analytics/{model}:not_null_") for c in checks), model
    for dimension in ("users", "songs", "artists", "time"):
        assert any(c.startswith("analytics/songplays:relationships_") and dimension in c for c in checks), dimension
    assert "analytics/songplays:accepted_values_songplays_level__free__paid" in checks
    assert "staging/staging_events:staging_events_match_raw_files" in checks
    assert "analytics/songplays:songplays_has_rows" in checks  # from quality_checks.yaml


def test_dbt_error_tests_are_blocking():
    graph = defs.resolve_asset_graph()
    spec = graph.get_check_spec(
        dg.AssetCheckKey(dg.AssetKey(["analytics", "songplays"]), "unique_songplays_songplay_id")
    )
    assert spec.blocking


def test_the_daily_job_loads_days_and_the_songs_job_the_catalogue():
    daily, songs = defs.resolve_job_def("sparkify_daily"), defs.resolve_job_def("sparkify_songs")
    assert daily.partitions_def.get_partition_keys()[0] == "2018-11-01"
    assert {k.to_user_string() for k in daily.asset_layer.executable_asset_keys} == {
        "raw/log_data",
        "staging/staging_events",
        "analytics/songplays",
        "analytics/time",
        "analytics/users",
    }
    assert songs.partitions_def is None
    assert {k.to_user_string() for k in songs.asset_layer.executable_asset_keys} == {
        "raw/song_data",
        "staging/staging_songs",
        "analytics/songs",
        "analytics/artists",
    }


def test_each_warehouse_gets_its_resource_and_executor(monkeypatch):
    from pipeline.definitions import build_definitions
    from pipeline.lib.settings import Settings
    from pipeline.lib.warehouse import DuckDBWarehouse, PostgresWarehouse, RedshiftWarehouse

    expected = {
        "duckdb": (DuckDBWarehouse, "in_process"),
        "postgres": (PostgresWarehouse, "multiprocess"),
        "redshift": (RedshiftWarehouse, "multiprocess"),
    }
    for name, (resource_type, executor) in expected.items():
        monkeypatch.setenv("WAREHOUSE", name)
        built = build_definitions(Settings.from_env())
        assert type(built.resources["warehouse"]) is resource_type
        assert built.executor.name == executor


def test_a_bad_schema_name_is_refused_before_any_sql(monkeypatch):
    import pytest

    from pipeline.defs.sparkify.settings import SparkifySettings
    from pipeline.lib.settings import Settings

    monkeypatch.setenv("SPARKIFY_STAGING_SCHEMA", "staging; drop table x")
    with pytest.raises(ValueError, match=r"invalid SQL schema name \(SPARKIFY_STAGING_SCHEMA\)"):
        SparkifySettings.from_env()
    monkeypatch.setenv("SPARKIFY_STAGING_SCHEMA", "staging")
    monkeypatch.setenv("WAREHOUSE", "oracle")
    with pytest.raises(ValueError, match="WAREHOUSE='oracle' is not supported"):
        Settings.from_env()


def test_sensors_start_stopped_on_a_laptop_and_running_in_production(monkeypatch):
    from pipeline.lib.environment import sensor_default_status

    sensor = defs.resolve_sensor_def("new_log_days_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED
    monkeypatch.setenv("DAGSTER_DEPLOYMENT", "prod")
    assert sensor_default_status() == dg.DefaultSensorStatus.RUNNING
    repository = defs.get_repository_def()
    assert {s.name for s in repository.schedule_defs} == {
        "sparkify_daily_schedule",
        "maintenance_weekly",
        "weather_hourly_schedule",
        "task_lake_inventory_schedule",
    }
    assert {s.name for s in repository.sensor_defs} == {
        "new_log_days_sensor",
        "song_files_sensor",
        "sparkify_freshness_checks_sensor",
        "weather_freshness_checks_sensor",
        "new_month_files_sensor",
        "run_failure_alert_sensor",
    }


def test_maintenance_cleans_the_schemas_every_pipeline_loads_into():
    from pipeline.lib.settings import load_schemas

    # Each pipeline's load schema (SPARKIFY_STAGING_SCHEMA, WEATHER_STAGING_SCHEMA, NYC_TAXI_SCHEMA), from its settings.
    assert load_schemas() == ["api_staging", "nyc", "staging"]
    assert "drop_leftover_tables" in {node.name for node in defs.resolve_job_def("maintenance").nodes}
