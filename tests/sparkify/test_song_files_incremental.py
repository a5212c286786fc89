"""staging_songs reads only song files it has not loaded; a replaced or removed file reloads the table."""

import json
import shutil

import dagster as dg
import duckdb
import pytest

from pipeline.defs.sparkify.staging_assets import plan_song_load
from tests.sparkify.expected_star import song_objects


def test_the_plan_appends_new_files_and_reloads_on_any_change():
    assert plan_song_load({"a": "1", "b": "1"}, {}) == (["a", "b"], True)
    assert plan_song_load({"a": "1", "b": "1", "c": "1"}, {"a": "1", "b": "1"}) == (["c"], False)
    assert plan_song_load({"a": "1", "b": "1"}, {"a": "1", "b": "1"}) == ([], False)
    assert plan_song_load({"a": "2", "b": "1"}, {"a": "1", "b": "1"}) == (["a", "b"], True)
    assert plan_song_load({"b": "1"}, {"a": "1", "b": "1"}) == (["b"], True)


def _refresh_songs() -> dg.ExecuteInProcessResult:
    from pipeline.definitions import build_definitions
    from pipeline.lib.settings import Settings

    job = build_definitions(Settings.from_env()).resolve_job_def("sparkify_songs")
    result = job.execute_in_process(instance=dg.DagsterInstance.get())
    assert result.success
    return result


def _rows(db: str, sql: str):
    with duckdb.connect(db, read_only=True) as connection:
        return connection.execute(sql).fetchall()


def _mode(result) -> tuple[str, int]:
    [event] = [
        m for m in result.get_asset_materialization_events() if m.asset_key == dg.AssetKey(["staging", "staging_songs"])
    ]
    metadata = event.materialization.metadata
    return metadata["mode"].value, metadata["files_loaded"].value


@pytest.fixture
def songs_env(copied_lake, pipeline_env):
    return copied_lake, pipeline_env["DUCKDB_PATH"]


def test_new_song_files_are_appended_and_reach_the_dimensions(songs_env):
    lake, db = songs_env
    assert _mode(_refresh_songs())[0] == "full reload"
    assert _mode(_refresh_songs()) == ("new files only", 0)  # nothing new: nothing read
    before = _rows(db, "select count(*) from staging.staging_songs")[0][0]

    new = lake / "song_data/Q/Q/Q/TRQQQNEWSONG00001.json"
    new.parent.mkdir(parents=True, exist_ok=True)
    new.write_text(
        json.dumps(
            {
                "artist_id": "ARNEWARTIST000001",
                "artist_latitude": None,
                "artist_location": "",
                "artist_longitude": None,
                "artist_name": "Newcomer",
                "duration": 123.45,
                "num_songs": 1,
                "song_id": "SONEWSONG00000001",
                "title": "Brand New",
                "year": 2018,
            }
        )
    )
    assert _mode(_refresh_songs()) == ("new files only", 1)
    assert _rows(db, "select count(*) from staging.staging_songs")[0][0] == before + 1
    assert _rows(db, "select title from analytics.songs where song_id = 'SONEWSONG00000001'") == [("Brand New",)]
    assert _rows(db, "select name from analytics.artists where artist_id = 'ARNEWARTIST000001'") == [("Newcomer",)]
    assert _rows(db, "select count(*) from staging.staging_songs_files")[0][0] == len(
        list((lake / "song_data").rglob("*.json"))
    )


def test_a_replaced_or_removed_file_reloads_the_table_exactly(songs_env):
    lake, db = songs_env
    _refresh_songs()
    files = sorted((lake / "song_data").rglob("*.json"))
    shutil.rmtree(files[0].parent)  # a file removed: its songs must go
    files[1].write_text(files[1].read_text(encoding="utf-8").replace('"year": ', '"year": 1', 1), encoding="utf-8")
    assert _mode(_refresh_songs())[0] == "full reload"
    assert _rows(db, "select count(*) from staging.staging_songs")[0][0] == len(song_objects(lake))
