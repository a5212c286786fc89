"""The whole code location loads, with the asset keys, checks, jobs and partitions the product promises."""

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from pipeline.code_location import build_definitions, build_pipelines
from pipeline.defs.sparkify.settings import SparkifySettings
from pipeline.lib.settings import Settings
from tests.platform import default_definitions

defs = default_definitions()

STAR = ["songplays", "users", "songs", "artists", "time"]
# The code location before the pipelines became values (written from that layout): what users see stays.
EXPECTED = json.loads((Path(__file__).with_name("expected_definitions.json")).read_text())["code_location"]


def group_keys(group: str) -> set[str]:
    graph = defs.resolve_asset_graph()
    return {key.to_user_string() for key in graph.get_all_asset_keys() if graph.get(key).group_name == group}


def test_the_code_location_holds_what_it_held_before_the_pipelines_became_values():
    graph = defs.resolve_asset_graph()
    repository = defs.get_repository_def()
    keys = sorted(graph.get_all_asset_keys(), key=lambda key: key.to_user_string())
    assert {key.to_user_string(): graph.get(key).group_name for key in keys} == EXPECTED["assets"]
    partitions = {key.to_user_string(): graph.get(key).partitions_def for key in keys}
    assert {key: str(p) if p else None for key, p in partitions.items()} == EXPECTED["partitions"]
    checks = {key.to_user_string(): graph.get_check_spec(key).blocking for key in graph.asset_check_keys}
    assert checks == EXPECTED["checks"]
    assert sorted(job.name for job in repository.get_all_jobs() if not job.name.startswith("__")) == EXPECTED["jobs"]
    assert {s.name: s.cron_schedule for s in repository.schedule_defs} == EXPECTED["schedules"]
    assert {s.name: s.minimum_interval_seconds for s in repository.sensor_defs} == EXPECTED["sensors"]


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


def test_each_warehouse_gets_its_resource_and_executor():
    from pipeline.lib.warehouse import DuckDBWarehouse, PostgresWarehouse, RedshiftWarehouse

    expected = {
        "duckdb": (DuckDBWarehouse, "in_process"),
        "postgres": (PostgresWarehouse, "multiprocess"),
        "redshift": (RedshiftWarehouse, "multiprocess"),
    }
    for name, (resource_type, executor) in expected.items():
        built = build_definitions(Settings.from_env({"WAREHOUSE": name}))
        assert type(built.resources["warehouse"]) is resource_type
        assert built.executor.name == executor


def test_a_bad_setting_is_refused_naming_its_variable_before_any_sql():
    with pytest.raises(ValueError, match=r"SPARKIFY_STAGING_SCHEMA\n.*invalid SQL schema name"):
        SparkifySettings.resolve(Settings.from_env({"SPARKIFY_STAGING_SCHEMA": "staging; drop table x"}))
    with pytest.raises(ValueError, match="WAREHOUSE"):
        Settings.from_env({"WAREHOUSE": "oracle"})
    with pytest.raises(ValueError, match="SPARKIFY_FIRST_DAY"):
        build_definitions(Settings.from_env({"SPARKIFY_FIRST_DAY": "2018-11-31"}))


def test_two_configurations_are_built_in_one_process_each_from_its_own_settings():
    first = Settings.from_env({"SPARKIFY_FIRST_DAY": "2020-01-01"})
    second = Settings.from_env({"SPARKIFY_FIRST_DAY": "2021-06-15", "SANDBOX": "alice", "SANDBOX_DIR": "/tmp/boxes"})
    one, two = build_definitions(first), build_definitions(second)

    def table(defs: dg.Definitions, key: list[str]) -> str:
        return defs.resolve_assets_def(dg.AssetKey(key)).metadata_by_key[dg.AssetKey(key)]["dagster/table_name"]

    assert one.resolve_job_def("sparkify_daily").partitions_def.get_first_partition_key() == "2020-01-01"
    assert two.resolve_job_def("sparkify_daily").partitions_def.get_first_partition_key() == "2021-06-15"
    assert table(one, ["staging", "staging_events"]) == "staging.staging_events"
    assert table(two, ["staging", "staging_events"]) == "alice_staging.staging_events"
    assert table(two, ["nyc", "main_data"]) == "alice_nyc.main_data"
    # dbt's models: the shared manifest names their default schemas; dbt builds them in the sandbox's own
    assert two.resources["dbt"].variables["SPARKIFY_ANALYTICS_SCHEMA"] == "alice_analytics"
    assert one.resources["warehouse"].path != two.resources["warehouse"].path == "/tmp/boxes/alice/warehouse.duckdb"
    assert two.resources["dbt"].variables["SPARKIFY_STAGING_SCHEMA"] == "alice_staging"
    assert one.resources["dbt"].variables["SPARKIFY_STAGING_SCHEMA"] == "staging"
    # Building the second changed nothing of the first, nor the process's environment.
    assert one.resolve_job_def("sparkify_daily").partitions_def.get_first_partition_key() == "2020-01-01"
    assert "SPARKIFY_FIRST_DAY" not in os.environ or os.environ["SPARKIFY_FIRST_DAY"] not in (
        "2020-01-01",
        "2021-06-15",
    )


def test_loading_the_definitions_writes_no_environment_and_starts_no_process():
    """In a fresh process: the environment is as it was, no dbt server (no child process) runs, no warehouse client
    but DuckDB's is imported, nor dagster-aws (loaded only by a step on Spark or ECS), and no pipeline's tools
    (demo data, the demo API) are loaded."""
    code = (
        "import json, os, sys; before = dict(os.environ); import pipeline.definitions; "
        "children = [open(f'/proc/{p}/cmdline').read() for p in os.listdir('/proc') if p.isdigit() and "
        "open(f'/proc/{p}/stat').read().rsplit(')', 1)[1].split()[1] == str(os.getpid())]; "
        # dagster-dbt's selection of models makes a multiprocessing lock (in dbt), which starts Python's own
        # resource tracker: not a process of the platform's
        "children = [c for c in children if 'multiprocessing.resource_tracker' not in c]; "
        "print(json.dumps({'environ': dict(os.environ) == before, 'children': len(children), "
        "'modules': sorted(m for m in sys.modules if m.startswith(('snowflake.', 'google.cloud.bigquery', "
        "'google.cloud.storage', 'dagster_aws')) or m.endswith(('.demo', '.demo_api', '.sample_data')))}))"
    )
    env = {k: v for k, v in os.environ.items() if k != "DBT_WARM_SOCKET"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found == {"environ": True, "children": 0, "modules": []}


def test_sensors_start_stopped_on_a_laptop_and_running_in_production():
    sensor = defs.resolve_sensor_def("new_log_days_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED
    production = build_definitions(Settings.from_env({"DAGSTER_DEPLOYMENT": "prod"}))
    assert production.resolve_sensor_def("new_log_days_sensor").default_status == dg.DefaultSensorStatus.RUNNING
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
        "check_failure_alert_sensor",
    }


def test_maintenance_cleans_the_schemas_every_pipeline_loads_into():
    # Each pipeline's load schema (SPARKIFY_STAGING_SCHEMA, WEATHER_STAGING_SCHEMA, NYC_TAXI_SCHEMA), from its settings.
    settings, _ = build_pipelines(Settings.from_env({}))
    assert settings.load_schemas == ("api_staging", "nyc", "staging")
    assert "drop_leftover_tables" in {node.name for node in defs.resolve_job_def("maintenance").nodes}
