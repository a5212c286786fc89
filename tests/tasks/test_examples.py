"""The two shipped tasks run locally after Sparkify, as `make demo` runs them: the inventory lists every event
file of the lake, the report holds the most played songs as counted here from the warehouse."""

import csv

import duckdb

from pipeline.lib.materialize import materialize_group


def test_the_example_tasks_run_after_sparkify(pipeline_env, sample_lake, tmp_path, monkeypatch):
    monkeypatch.setenv("TASKS_DATA_URI", str(tmp_path / "tasks"))
    assert all(outcome.ok for _, outcome in materialize_group("sparkify"))

    [(_, outcome)] = materialize_group("tasks")

    assert outcome.ok, outcome.errors
    listed = (tmp_path / "tasks" / "lake_inventory" / "lake_inventory.txt").read_text().split()
    assert listed == sorted(
        str(p.relative_to(sample_lake.root)) for p in (sample_lake.root / "log_data").rglob("*.json")
    )
    with duckdb.connect(pipeline_env["DUCKDB_PATH"], read_only=True) as connection:
        expected = connection.execute(
            "select s.title, count(*) from analytics.songplays p join analytics.songs s on s.song_id = p.song_id "
            "group by s.title order by 2 desc, 1 limit 10"
        ).fetchall()
    with open(tmp_path / "tasks" / "top_songs" / "top_songs.csv", newline="") as stream:
        report = [(row["title"], int(row["plays"])) for row in csv.DictReader(stream)]
    assert report == expected and report
