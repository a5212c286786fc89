"""The commands the README gives, run as a user runs them: exit codes and what they print."""

import os
import subprocess
import sys
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def run(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=REPO, env={**os.environ, **env}, capture_output=True, text=True, timeout=600)


def test_materialize_prints_the_summary_and_exits_zero(pipeline_env):
    done = run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "materialize",
            "--group",
            "sparkify",
            "--start",
            "2018-11-01",
            "--end",
            "2018-11-02",
        ],
        pipeline_env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "(sparkify_songs): succeeded" in done.stdout
    assert "(sparkify_daily over 2018-11-01 .. 2018-11-02, 2 days): succeeded" in done.stdout
    assert "analytics.songplays" in done.stdout and " 0 failed" in done.stdout


def test_materialize_exits_nonzero_and_says_why_when_a_day_is_missing(pipeline_env):
    done = run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "materialize",
            "--group",
            "sparkify",
            "--start",
            "2018-11-03",
            "--end",
            "2018-11-04",
        ],
        pipeline_env,
    )
    assert done.returncode == 1
    assert "FAILED" in done.stdout and "missing day file" in done.stdout and "2018-11-04-events.json" in done.stdout


def test_materialize_rejects_a_bad_date(pipeline_env):
    done = run(
        [sys.executable, "-m", "pipeline", "materialize", "--group", "sparkify", "--start", "2018-11-31"], pipeline_env
    )
    assert done.returncode == 2 and "'2018-11-31' is not one of sparkify's partitions" in done.stderr


def test_definitions_validate(pipeline_env):
    done = run([str(BIN / "dagster"), "definitions", "validate", "-w", "workspace.yaml"], pipeline_env)
    assert done.returncode == 0, done.stderr
    assert "All code locations passed validation" in done.stdout + done.stderr


def test_dagster_asset_materialize_takes_a_partition_range_in_one_run(pipeline_env):
    unpartitioned = "raw/song_data,staging/staging_songs,analytics/songs,analytics/artists"
    daily = "raw/log_data,staging/staging_events,analytics/users,analytics/songplays,analytics/time"
    # The song catalogue first (the daily models join plays to it), then the range of days in one run.
    for selection, extra in [(unpartitioned, []), (daily, ["--partition-range", "2018-11-01...2018-11-03"])]:
        done = run(
            [str(BIN / "dagster"), "asset", "materialize", "-m", "pipeline.definitions", "--select", selection, *extra],
            pipeline_env,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    with duckdb.connect(pipeline_env["DUCKDB_PATH"], read_only=True) as connection:
        days = connection.execute("select count(distinct cast(start_time as date)) from analytics.songplays").fetchone()
    assert days == (3,)
