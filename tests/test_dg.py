"""The `dg` CLI on this project, as a user runs it: `dg check defs`, `dg list defs` (Sparkify keeps the asset keys,
checks, jobs, schedules and sensors the code location had before the platform layout: tests/expected_definitions.json,
written from the previous layout; other pipelines add their own groups) and `dg launch` of a partition range."""

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parent.parent
DG = Path(sys.executable).with_name("dg")
EXPECTED = json.loads((REPO / "tests" / "expected_definitions.json").read_text())


def dg(args: list[str], env: dict) -> subprocess.CompletedProcess:
    # As with the virtualenv activated, which the README asks for (dg warns when another one is active).
    venv = {"VIRTUAL_ENV": str(DG.parent.parent), "PATH": f"{DG.parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        [str(DG), *args], cwd=REPO, env={**os.environ, **env, **venv}, capture_output=True, text=True, timeout=600
    )


def test_dg_check_defs_passes(pipeline_env):
    done = dg(["check", "defs"], pipeline_env)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert "All definitions loaded successfully" in done.stdout + done.stderr


def test_dg_list_defs_shows_what_the_code_location_promised(pipeline_env):
    done = dg(["list", "defs", "--json"], pipeline_env)
    assert done.returncode == 0, done.stderr[-3000:]
    listed = json.loads(done.stdout)
    sparkify = sorted(a["asset_key"] for a in listed["assets"] if a["group_name"] == "sparkify")
    assert sparkify == EXPECTED["assets"]
    assert sorted(c["key"] for c in listed["asset_checks"] if c["key"].split(":")[0] in sparkify) == EXPECTED["checks"]
    for kind in ("jobs", "schedules", "sensors"):
        names = {item["name"] for item in listed[kind]}
        assert set(EXPECTED[kind]) <= names
        assert all(name in EXPECTED[kind] or not name.startswith("sparkify") for name in names), kind
    assert {"sparkify", "weather"} <= {a["group_name"] for a in listed["assets"]}


def test_dg_launch_runs_a_partition_range(pipeline_env):
    catalogue = "raw/song_data,staging/staging_songs,analytics/songs,analytics/artists"
    daily = "raw/log_data,staging/staging_events,analytics/users,analytics/songplays,analytics/time"
    for args in (["--assets", catalogue], ["--assets", daily, "--partition-range", "2018-11-01...2018-11-02"]):
        done = dg(["launch", *args], pipeline_env)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    with duckdb.connect(pipeline_env["DUCKDB_PATH"], read_only=True) as connection:
        days = connection.execute("select count(distinct cast(start_time as date)) from analytics.songplays").fetchone()
    assert days == (2,)
