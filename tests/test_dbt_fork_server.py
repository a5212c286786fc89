"""The warm dbt (pipeline/lib/dbt/fork_server.py): dbt commands run in forks of one process that imported dbt.

Commands go through the real client and a real server on a Unix socket, against a small dbt project on
DuckDB. Which process ran dbt is read from dbt's own JSON log (each event carries its pid): a fork has
a pid of its own, while the client that falls back to the real dbt execs it and keeps its pid.
"""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from pipeline.lib.dbt import fork_server as dbt_fork_server
from pipeline.lib.dbt.cli import dbt_resource
from pipeline.lib.dbt.project import dbt_project
from pipeline.lib.settings import Settings

PROJECT = {
    "dbt_project.yml": """
        name: warm
        version: "1.0.0"
        profile: warm
        config-version: 2
    """,
    "profiles.yml": """
        warm:
          target: dev
          outputs:
            dev:
              type: duckdb
              path: "{{ env_var('WARM_DB') }}"
              threads: 1
    """,
    "models/one.sql": "select 1 as x",
    "models/broken.sql": "select * from no_such_table",
    # dbt stops a run at the end of the models running: this one ends 5 s after it starts.
    "models/slow.py": """
        import time

        def model(dbt, session):
            time.sleep(5)
            return session.sql("select 1 as x")
    """,
    # Never ends unless DuckDB's query is stopped (dbt-duckdb's cancel does not stop it).
    "models/endless.sql": """
        {{ config(materialized="table") }}
        select sum(hash(a.range + b.range)) as n from range(1000000) a, range(1000000) b
    """,
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name, text in PROJECT.items():
        path = tmp_path / "project" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return tmp_path / "project"


@pytest.fixture
def server():
    """A warm dbt owned by this test."""
    process, path = dbt_fork_server.start_server()
    assert os.path.exists(path) and process.poll() is None, "the server did not bind its socket"
    yield path, process
    process.stdin.close()
    process.wait(timeout=10)


def start_dbt(
    project: Path, args: list[str], socket_path: str | None, database: str = "warm.duckdb"
) -> subprocess.Popen:
    """dbt as dagster-dbt starts it: the client, in the project folder, JSON log lines on stdout; the database file
    is one of the command's own variables (the client's arguments, as the platform's settings reach dbt)."""
    env = {k: v for k, v in os.environ.items() if k != dbt_fork_server.SOCKET_VARIABLE}
    env.update(DBT_PROFILES_DIR=str(project), DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    if socket_path:
        env[dbt_fork_server.SOCKET_VARIABLE] = socket_path
    return subprocess.Popen(
        [sys.executable, *dbt_fork_server.client_command({"WARM_DB": str(project / database)}), "--log-format", "json"]
        + args,
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def events(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def run_dbt(project: Path, args: list[str], socket_path: str | None, **kwargs) -> tuple[int, int, list[dict]]:
    """(exit status, the client's pid, dbt's log events)."""
    process = start_dbt(project, args, socket_path, **kwargs)
    output, _ = process.communicate(timeout=120)
    return process.returncode, process.pid, events(output)


def dbt_pid(log: list[dict]) -> int:
    pids = {event["info"]["pid"] for event in log}
    assert len(pids) == 1, pids
    return pids.pop()


def test_a_command_runs_in_a_fork_of_the_server_with_its_own_environment_and_folder(project, server):
    socket_path, process = server
    # The same command twice, each with its own database file: each fork takes its command's environment.
    for database in ("first.duckdb", "second.duckdb"):
        status, client_pid, log = run_dbt(project, ["run", "--select", "one"], socket_path, database=database)
        assert status == 0, log
        assert dbt_pid(log) != client_pid
        assert any(e["info"]["name"] == "LogModelResult" and "one" in e["info"]["msg"] for e in log)
        with duckdb.connect(str(project / database), read_only=True) as db:
            assert db.sql("select x from one").fetchall() == [(1,)]
    assert process.poll() is None  # the server outlives its commands


def test_a_failing_command_exits_as_the_real_dbt_does(project, server):
    warm = run_dbt(project, ["run", "--select", "broken"], server[0])
    real = run_dbt(project, ["run", "--select", "broken"], None)
    assert warm[0] == real[0] == 1
    for _, _, log in (warm, real):
        assert any("no_such_table" in e["info"]["msg"] for e in log if e["info"]["level"] == "error")


@pytest.mark.parametrize("socket_path", [None, "/nonexistent/socket"], ids=["no server", "server gone"])
def test_without_a_server_the_client_becomes_the_real_dbt(project, socket_path):
    status, client_pid, log = run_dbt(project, ["run", "--select", "one"], socket_path)
    assert status == 0, log
    assert dbt_pid(log) == client_pid  # exec: the client's own process ran dbt


def _wait_for_model_start(process: subprocess.Popen, model: str) -> int:
    """Reads the client's output until dbt starts the model; dbt's pid."""
    for line in process.stdout:
        if line.startswith("{"):
            event = json.loads(line)
            if event["info"]["name"] == "LogStartLine" and model in event["info"]["msg"]:
                return event["info"]["pid"]
    raise AssertionError(f"dbt ended before running {model}: status {process.wait()}")


def _ends_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def test_stopping_the_client_stops_dbt_as_it_stops_the_real_dbt(project, server):
    """dagster-dbt stops a run's dbt with SIGINT: the client passes it on, dbt stops once the running model
    ends, and the client exits with dbt's own status, as the real dbt's process does."""
    statuses = []
    for socket_path in (server[0], None):
        process = start_dbt(project, ["run", "--select", "slow"], socket_path)
        pid = _wait_for_model_start(process, "slow")
        process.send_signal(signal.SIGINT)
        statuses.append(process.wait(timeout=60))
        assert _ends_within(pid, 30)
    warm, real = statuses
    assert warm == real != 0


def test_a_killed_client_does_not_leave_dbt_running(project, server):
    """A run worker killed outright: dbt's fork notices its client is gone, stops as on Ctrl-C, and ends
    after a grace period even though its query would never end."""
    process = start_dbt(project, ["run", "--select", "endless"], server[0])
    pid = _wait_for_model_start(process, "endless")
    process.kill()
    process.wait()
    assert _ends_within(pid, dbt_fork_server._ORPHAN_GRACE_SECONDS + 20)


def test_the_server_ends_with_its_owner():
    """ensure_running in a process of its own: when that process exits, so does its server, socket and all."""
    script = (
        "import os; from pipeline.lib.dbt import fork_server as f; f.ensure_running(); "
        "print(os.environ[f.SOCKET_VARIABLE], f._server.pid)"
    )
    env = {k: v for k, v in os.environ.items() if k != dbt_fork_server.SOCKET_VARIABLE}
    env["PYTHONPATH"] = str(Path(dbt_fork_server.__file__).parent.parent)
    output = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True).stdout
    socket_path, pid = output.split()
    assert _ends_within(int(pid), 30)
    assert not os.path.exists(socket_path) and not os.path.exists(os.path.dirname(socket_path))


def test_the_dbt_resource_runs_the_client_with_its_variables_and_starts_no_server(monkeypatch):
    """dbt runs as the client with the settings' variables; building the resource (loading the definitions)
    starts no warm dbt: its first command does (LocalDbtCliResource.cli)."""
    monkeypatch.delenv(dbt_fork_server.SOCKET_VARIABLE, raising=False)
    project = dbt_project(Settings.from_env({}))
    warm = dbt_resource(project, "duckdb", {"SPARKIFY_STAGING_SCHEMA": "alice_staging"}, True)
    assert [warm.dbt_executable, *warm.global_config_flags] == [
        sys.executable,
        *dbt_fork_server.client_command({"SPARKIFY_STAGING_SCHEMA": "alice_staging"}),
    ]
    assert warm.global_config_flags[-2:] == ["SPARKIFY_STAGING_SCHEMA=alice_staging", "--"]
    assert dbt_fork_server.SOCKET_VARIABLE not in os.environ
    assert warm.warm == (sys.platform == "linux")
    assert dbt_resource(project, "duckdb", {}, False).warm is False
    window = warm.with_variables({"DBT_WINDOW_START": "2018-11-01"})
    assert "DBT_WINDOW_START=2018-11-01" in window.global_config_flags and window.warm == warm.warm
