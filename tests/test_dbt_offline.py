"""The dbt project for the warehouses that cannot run here: parsed and compiled offline for Redshift.

`--no-populate-cache --no-introspect` keeps dbt from connecting; the point is that one set of model SQL
renders for every target, with the dialect differences coming from the dispatched macros.
"""

import os
import subprocess

import pytest

from pipeline.lib.dbt.fork_server import DBT_EXECUTABLE
from pipeline.lib.settings import DBT_PROJECT_DIR
from tests.ports import free_port

MODELS = ("songplays", "users", "songs", "artists", "time")


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """Compiled SQL per target: {target: {model: sql}}. The three compiles run at once (each is a dbt process that
    mostly starts up and parses: ~10 s apiece one after another)."""
    compiles = {}
    for target in ("redshift", "postgres", "duckdb"):
        target_path = tmp_path_factory.mktemp(f"dbt_{target}")
        env = {
            **os.environ,
            "WAREHOUSE": target,
            "REDSHIFT_HOST": "127.0.0.1",
            "REDSHIFT_PORT": str(free_port()),
            "POSTGRES_PORT": str(free_port()),
            "DUCKDB_PATH": str(target_path / "unused.duckdb"),
            "DBT_WINDOW_START": "2018-11-02",
            "DBT_WINDOW_END": "2018-11-03",
        }
        command = [
            DBT_EXECUTABLE,
            "compile",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target",
            target,
            "--target-path",
            str(target_path),
            "--no-populate-cache",
            "--no-introspect",
        ]
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        compiles[target] = (process, target_path)
    out = {}
    try:
        for target, (process, target_path) in compiles.items():
            output, _ = process.communicate(timeout=300)
            assert process.returncode == 0, output[-3000:]
            models = target_path / "compiled" / "data_platform" / "models" / "sparkify" / "analytics"
            out[target] = {m: (models / f"{m}.sql").read_text() for m in MODELS}
    finally:
        for process, _ in compiles.values():
            if process.poll() is None:
                process.kill()
                process.wait()
    return out


def test_every_model_compiles_for_every_warehouse(compiled):
    for target, models in compiled.items():
        assert set(models) == set(MODELS), target


def test_epoch_milliseconds_become_timestamps_in_each_dialect(compiled):
    assert "epoch_ms(plays.ts)" in compiled["duckdb"]["songplays"]
    assert "timestamp '1970-01-01 00:00:00' + plays.ts * interval '1 millisecond'" in compiled["postgres"]["songplays"]
    assert (
        "timestamp 'epoch' + (plays.ts / 1000) * interval '1 second' + (plays.ts % 1000) * interval '1 millisecond'"
        in compiled["redshift"]["songplays"]
    )


def test_the_partition_window_reaches_every_target(compiled):
    for target, models in compiled.items():
        assert "ts >= 1541116800000" in models["songplays"] and "ts < 1541203200000" in models["songplays"], target
        assert "cast('2018-11-02' as timestamp)" in models["time"], target


def test_the_songplay_key_is_an_md5_of_session_and_start_time(compiled):
    for target in ("redshift", "postgres"):
        assert "md5(cast(cast(timed_plays.session_id as" in compiled[target]["songplays"], target
