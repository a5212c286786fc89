"""End to end on DuckDB: generated days materialized through Dagster, compared with the contract computed
independently."""

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest

import pipeline.lib.dbt.build as dbt_build
from pipeline.defs.sparkify.layout import event_key
from pipeline.defs.sparkify.partitions import day_epoch_ms
from pipeline.defs.sparkify.staging_assets import WAITING_FOR_SONGS
from tests.conftest import restarted_steps, upload_tree
from tests.sparkify.expected_star import events_by_day, expected_star, song_objects
from tests.sparkify.runs import materialize_all, materialize_days, materialize_songs

DAYS = [dt.date(2018, 11, 1), dt.date(2018, 11, 2), dt.date(2018, 11, 3)]
TABLES = (
    "staging.staging_events",
    "staging.staging_songs",
    "analytics.songplays",
    "analytics.users",
    "analytics.songs",
    "analytics.artists",
    "analytics.time",
)


def rows(path: str, sql: str) -> list[tuple]:
    with duckdb.connect(path, read_only=True) as connection:
        return connection.execute(sql).fetchall()


def snapshot(path: str) -> dict[str, list[tuple]]:
    return {table: rows(path, f"select * from {table} order by all") for table in TABLES}


@pytest.fixture(scope="module")
def baseline(tmp_path_factory, sample_lake, extension_dir):
    """The three days materialized once; tests start from copies of its warehouse and instance."""
    root = tmp_path_factory.mktemp("baseline")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SPARKIFY_DATA_URI", str(sample_lake.root))
        patch.setenv("DUCKDB_PATH", str(root / "warehouse.duckdb"))
        patch.setenv("DUCKDB_EXTENSION_DIR", str(extension_dir))
        patch.setenv("DAGSTER_HOME", str(root / "dagster_home"))
        runs = materialize_all(DAYS)
    assert [name.split()[0] for name, _ in runs] == ["sparkify_songs", "sparkify_daily"]
    assert all(outcome.ok for _, outcome in runs), [outcome.errors for _, outcome in runs]
    return root


@pytest.fixture
def loaded(pipeline_env, baseline):
    shutil.copy(baseline / "warehouse.duckdb", pipeline_env["DUCKDB_PATH"])
    shutil.copytree(baseline / "dagster_home", pipeline_env["DAGSTER_HOME"], dirs_exist_ok=True)
    return pipeline_env


def test_three_days_give_the_star_schema_the_contract_implies(loaded, sample_lake):
    db = loaded["DUCKDB_PATH"]
    expected = expected_star(sample_lake.root)
    by_day = events_by_day(sample_lake.root)

    assert rows(db, "select count(*) from staging.staging_events") == [(sum(len(e) for e in by_day.values()),)]
    assert rows(db, "select count(*) from staging.staging_songs") == [(len(song_objects(sample_lake.root)),)]
    assert rows(db, "select * from analytics.songplays order by songplay_id") == expected["songplays"]
    assert rows(db, "select * from analytics.users order by all") == expected["users"]
    assert rows(db, "select * from analytics.songs order by all") == expected["songs"]
    assert rows(db, "select artist_id from analytics.artists order by 1") == [(a,) for a in expected["artist_ids"]]
    assert rows(db, "select * from analytics.time order by all") == expected["time"]
    # The generated data exercises the join both ways: matched plays carry ids, unmatched ones keep NULLs.
    matched, unmatched = rows(db, "select count(song_id), count(*) - count(song_id) from analytics.songplays")[0]
    assert matched > 0 and unmatched > 0


def test_raw_quirks_survive_staging(loaded):
    db = loaded["DUCKDB_PATH"]
    # "" stays as loaded for logged-out events; registration keeps its fraction type; ts stays epoch ms.
    assert rows(db, "select count(*) > 0 from staging.staging_events where user_id = '' and auth = 'Logged Out'") == [
        (True,)
    ]
    assert rows(db, "select typeof(ts), typeof(registration), typeof(length) from staging.staging_events limit 1") == [
        ("BIGINT", "DOUBLE", "DOUBLE")
    ]
    assert rows(db, "select count(*) from staging.staging_events where user_agent like '\"Mozilla/%'")[0][0] > 0


def test_every_check_passed_and_was_recorded(loaded):
    import dagster as dg

    instance = dg.DagsterInstance.get()
    runs = instance.get_runs()
    assert sorted(run.job_name for run in runs) == ["sparkify_daily", "sparkify_songs"]
    assert all(instance.get_run_stats(run.run_id).steps_failed == 0 for run in runs)
    records = instance.get_asset_records([dg.AssetKey(["analytics", "songplays"])])
    assert records and records[0].asset_entry.last_materialization is not None
    materialized = instance.get_materialized_partitions(dg.AssetKey(["staging", "staging_events"]))
    assert materialized == {d.isoformat() for d in DAYS}


def test_the_raw_assets_record_where_their_files_are(loaded, sample_lake):
    """dagster/uri: each day's observation names its file; the raw assets' materializations, their folders."""
    import dagster as dg

    instance = dg.DagsterInstance.get()
    log_data, song_data = dg.AssetKey(["raw", "log_data"]), dg.AssetKey(["raw", "song_data"])
    observed = {
        record.partition_key: record.asset_observation.metadata["dagster/uri"].value
        for record in instance.fetch_observations(log_data, limit=100).records
    }
    assert observed == {day.isoformat(): str(sample_lake.root / event_key(day)) for day in DAYS}
    materialized = instance.fetch_materializations(log_data, limit=100).records
    assert {r.asset_materialization.metadata["dagster/uri"].value for r in materialized} == {
        str(sample_lake.root / "log_data")
    }
    [songs] = instance.fetch_materializations(song_data, limit=100).records
    assert songs.asset_materialization.metadata["dagster/uri"].value == str(sample_lake.root / "song_data")


def test_rerunning_a_day_changes_nothing(loaded):
    before = snapshot(loaded["DUCKDB_PATH"])
    for _ in range(2):
        assert materialize_days([DAYS[1]]).ok
    assert snapshot(loaded["DUCKDB_PATH"]) == before


def test_days_can_arrive_one_at_a_time_in_any_order(pipeline_env, sample_lake):
    assert materialize_songs().ok
    for day in (DAYS[2], DAYS[0], DAYS[1]):  # users keep their latest play by ts, not by arrival
        assert materialize_days([day]).ok
    db = pipeline_env["DUCKDB_PATH"]
    expected = expected_star(sample_lake.root)
    assert rows(db, "select * from analytics.songplays order by songplay_id") == expected["songplays"]
    assert rows(db, "select * from analytics.time order by all") == expected["time"]
    assert rows(db, "select * from analytics.users order by all") == expected["users"]


def test_a_day_without_the_song_catalogue_fails_naming_it(pipeline_env):
    outcome = materialize_days([DAYS[0]])
    assert not outcome.ok
    assert outcome.errors == (f"sparkify_daily_models: {WAITING_FOR_SONGS}: run it first (song_files_sensor does)",)


def test_plays_breaking_a_dbt_test_fail_the_run_at_once_naming_the_tests(copied_lake, loaded):
    path = copied_lake / event_key(DAYS[1])
    path.write_text(path.read_text(encoding="utf-8").replace('"level":"free"', '"level":"gold"'), encoding="utf-8")

    outcome = materialize_days([DAYS[1]])

    # users is built first; its failed test stops dbt before the fact (which would fail the same test).
    assert not outcome.ok
    assert outcome.errors == ("sparkify_daily_models: dbt tests failed: accepted_values_users_level__free__paid",)
    assert restarted_steps(outcome.run_id) == []


def test_a_missing_day_is_reported_as_missing_not_empty(pipeline_env):
    outcome = materialize_days([DAYS[0], DAYS[-1] + dt.timedelta(days=1)])
    assert not outcome.ok
    assert any("missing day file" in e and "2018-11-04-events.json" in e for e in outcome.errors)
    assert not any("staging_events" in e for e in outcome.errors)  # the load never started


def test_a_lake_on_s3_gives_the_same_tables_as_the_local_folder(loaded, sample_lake, s3_env, monkeypatch, tmp_path):
    upload_tree(s3_env, sample_lake.root, "sparkify-lake", "udacity/raw")
    local = snapshot(loaded["DUCKDB_PATH"])
    monkeypatch.setenv("SPARKIFY_DATA_URI", "s3://sparkify-lake/udacity/raw")
    monkeypatch.setenv("DUCKDB_PATH", str(tmp_path / "from_s3.duckdb"))

    runs = materialize_all(DAYS)

    assert all(outcome.ok for _, outcome in runs), [outcome.errors for _, outcome in runs]
    assert snapshot(str(tmp_path / "from_s3.duckdb")) == local


def test_a_pretty_printed_copy_of_a_day_file_loads_the_same_rows(copied_lake, loaded):
    import json

    from tests.sparkify.expected_star import read_objects

    before = snapshot(loaded["DUCKDB_PATH"])
    path = copied_lake / event_key(DAYS[1])
    objects = read_objects(path)
    # As a copied file can be: objects over several lines, some back to back on one line.
    path.write_text(
        "".join(json.dumps(o, indent=2, ensure_ascii=False) + ("" if i % 3 else "\n") for i, o in enumerate(objects)),
        encoding="utf-8",
    )

    assert materialize_days([DAYS[1]]).ok
    assert snapshot(loaded["DUCKDB_PATH"]) == before


def test_runs_after_the_first_reuse_dbt_parse_state(loaded, tmp_path, monkeypatch):
    """The partition window changes every run without making dbt re-parse the project (pipeline/lib/dbt/manifest.py)."""
    target = tmp_path / "dbt_target"
    monkeypatch.setenv("DBT_TARGET_PATH", str(target))  # where dagster-dbt seeds each invocation from
    # A successful build removes its invocation folder (dbt.log, compiled SQL): copy each one as it goes, to see
    # what dbt parsed and ran. The runs execute in this process, so the build looks the function up here.
    removed = tmp_path / "removed"
    remove = dbt_build.remove_invocation_folder

    def copy_then_remove(folder):
        shutil.copytree(folder, removed / Path(folder).name)
        remove(folder)

    monkeypatch.setattr(dbt_build, "remove_invocation_folder", copy_then_remove)

    first = materialize_days([DAYS[1]])
    second = materialize_days([DAYS[2]])

    assert first.ok and second.ok, (first.errors, second.errors)
    assert (target / "partial_parse.msgpack").exists()
    assert not [p for p in target.iterdir() if p.is_dir() and p.name.startswith("sparkify_")]  # all removed
    folders = {
        folder.name.split("-")[0]: folder
        for folder in removed.iterdir()
        if folder.is_dir() and f"-{second.run_id[:7]}-" in folder.name
    }
    assert set(folders) == {"sparkify_daily_models"}, sorted(folders)  # one dbt invocation per daily run
    logs = {name: (folder / "dbt.log").read_text() for name, folder in folders.items()}
    # A new day's window reached dbt through the environment at execution only: nothing was re-parsed.
    for name, log in logs.items():
        assert "Partial parsing enabled, no changes found, skipping parsing" in log, name
        assert "Unable to do partial parsing" not in log and "Partial parsing: updated file" not in log, name
    # ... and what dbt executed was the day's window, not the every-day default parsing saw.
    executed = (
        folders["sparkify_daily_models"]
        / "compiled"
        / "data_platform"
        / "models"
        / "sparkify"
        / "analytics"
        / "songplays.sql"
    ).read_text()
    low, high = day_epoch_ms(DAYS[2])
    assert f"ts >= {low}" in executed and f"ts < {high}" in executed
