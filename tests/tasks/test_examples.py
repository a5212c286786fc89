"""The two shipped tasks run after Sparkify in a personal sandbox, as an analyst tries them (`SANDBOX=<name>`, see
docs/tasks.md): the sandbox has its own instance and warehouse file, Sparkify's tables land in its prefixed
schemas, the inventory lists every event file of the lake, the report holds the most played songs as counted
here from the sandbox's tables. `make demo` runs the same tasks outside a sandbox (tests/test_cli.py)."""

import csv
import os
import subprocess
import sys

import duckdb

from pipeline.lib.settings import REPO_ROOT


def in_sandbox(*argv: str, sandbox_dir, name: str = "alice") -> subprocess.CompletedProcess:
    variables = {**os.environ, "SANDBOX": name, "SANDBOX_DIR": str(sandbox_dir)}
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *argv], env=variables, cwd=REPO_ROOT, capture_output=True, text=True
    )


def test_the_example_tasks_run_after_sparkify_in_a_sandbox(pipeline_env, sample_lake, tmp_path):
    sparkify = in_sandbox("materialize", "--group", "sparkify", sandbox_dir=tmp_path / "sandbox")
    assert sparkify.returncode == 0, sparkify.stdout[-3000:] + sparkify.stderr[-3000:]
    assert "sandbox alice: DAGSTER_HOME=" in sparkify.stdout

    tasks = in_sandbox("materialize", "--group", "tasks", sandbox_dir=tmp_path / "sandbox")

    assert tasks.returncode == 0, tasks.stdout[-3000:] + tasks.stderr[-3000:]
    home = tmp_path / "sandbox" / "alice"
    assert (home / "dagster_home").is_dir() and not (tmp_path / "warehouse.duckdb").exists()  # not the shared one
    listed = (home / "tasks" / "lake_inventory" / "lake_inventory.txt").read_text().split()
    assert listed == sorted(
        str(p.relative_to(sample_lake.root)) for p in (sample_lake.root / "log_data").rglob("*.json")
    )
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as connection:
        schemas = {
            row[0] for row in connection.execute("select schema_name from information_schema.schemata").fetchall()
        }
        expected = connection.execute(
            "select s.title, count(*) from alice_analytics.songplays p join alice_analytics.songs s "
            "on s.song_id = p.song_id group by s.title order by 2 desc, 1 limit 10"
        ).fetchall()
    assert {"alice_staging", "alice_analytics"} <= schemas and not {"staging", "analytics"} & schemas
    with open(home / "tasks" / "top_songs" / "top_songs.csv", newline="") as stream:
        report = [(row["title"], int(row["plays"])) for row in csv.DictReader(stream)]
    assert report == expected and report


def test_a_sandbox_is_named_by_an_identifier(tmp_path):
    done = in_sandbox("check-tasks", sandbox_dir=tmp_path, name="Alice Smith")

    assert done.returncode == 2 and list(tmp_path.iterdir()) == []
    assert "SANDBOX='Alice Smith': a lower-case identifier of at most 30 characters" in done.stderr
