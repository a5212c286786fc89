"""A production-style Dagster deployment on one machine, for smoke tests: three long-lived processes
over one instance, as a server runs them.

    with ProductionDeployment(base_dir, postgres=PostgresTarget(...), compute_logs=ComputeLogBucket(...),
                              pipeline_env={...}) as deployment:
        deployment.api.wait_for_run(deployment.api.launch_run("sparkify_songs"), timeout_s=150)
        run_id = deployment.api.launch_partition_run("sparkify_daily", "2018-11-02")
        deployment.api.wait_for_run(run_id, timeout_s=150)

What it starts, each with `env --default-signal=INT,TERM` in a session of its own, logging to
``<base_dir>/logs/<name>.log``:

- ``code-server``: ``dagster code-server start -h 127.0.0.1 -p <port> -m pipeline.definitions`` from the
  repository (the Dockerfile's command); run workers are its children. Before it, as systemd's
  ExecStartPre and the compose command do, ``python -m pipeline fail-orphaned-runs`` fails the runs a
  killed predecessor left STARTED (log ``fail-orphaned-runs.log``);
- ``webserver``: ``dagster-webserver -h 127.0.0.1 -p <port> -w <base_dir>/workspace.yaml``;
- ``daemon``: ``dagster-daemon run -w <base_dir>/workspace.yaml``.

The workspace file names the code server as ``grpc_server`` (location ``data_platform``), as a deployment
whose code runs in its own container does. The instance (``<base_dir>/dagster_home/dagster.yaml``) is
``deploy/dagster.yaml`` from the repository when that file exists, else ``DEFAULT_INSTANCE_CONFIG``
below: Postgres for runs, event logs and schedules, the queued run coordinator, compute logs in S3.
Either way every setting comes from environment variables, which ``instance_env()`` provides; a
variable the file reads that nobody provides fails ``start()`` with its name.

``start()`` returns once the code server serves its definitions, the webserver answers
``/server_info`` and has loaded the location, and the daemon reports healthy through GraphQL.
``stop()`` stops the daemon, then the webserver, then the code server (SIGTERM to each process group,
SIGKILL after a grace period) and any process any of them started, even one in another session, and
waits until they are gone; ``kill()`` is a power loss: SIGKILL to all of them at once. Each process
stages compute logs in its own folder (DAGSTER_COMPUTE_LOGS_LOCAL_DIR), so what the webserver shows of
a step's output came through the bucket.
``deployment.api`` (DagsterApi, at the end) performs what the UI's buttons do, with the UI's own
GraphQL mutations. Nothing here is pytest-specific.
"""

from __future__ import annotations

import atexit
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import boto3
import requests
import yaml

from pipeline.lib.dbt import fork_server as dbt_fork_server
from tests.ports import free_port

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PRODUCTION_INSTANCE_CONFIG = REPO / "deploy" / "dagster.yaml"
RETENTION_FILE = REPO / "pipeline" / "maintenance" / "instance_retention.yaml"
LOCATION_NAME = "data_platform"
REPOSITORY_NAME = "__repository__"

# The instance when the repository has no deploy/dagster.yaml: the same kind of file, every value from
# the environment. S3ComputeLogManager has no endpoint here: boto3 reads AWS_ENDPOINT_URL itself
# (botocore >= 1.31), so an S3-compatible store (MinIO, moto) needs no change to the file. The scheme
# names the driver: SQLAlchemy 2.1 maps a bare `postgresql://` to psycopg 3, which is not installed
# (the lock has psycopg2-binary), so without it the storage fails with "No module named 'psycopg'".
DEFAULT_INSTANCE_CONFIG = """\
telemetry:
  enabled: false
nux:
  enabled: false
storage:
  postgres:
    postgres_db:
      hostname: {env: DAGSTER_PG_HOST}
      port: {env: DAGSTER_PG_PORT}
      username: {env: DAGSTER_PG_USER}
      password: {env: DAGSTER_PG_PASSWORD}
      db_name: {env: DAGSTER_PG_DB}
      scheme: postgresql+psycopg2
run_coordinator:
  module: dagster._core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: {env: DAGSTER_MAX_CONCURRENT_RUNS}
run_launcher:
  module: dagster._core.launcher
  class: DefaultRunLauncher
compute_logs:
  module: dagster_aws.s3.compute_log_manager
  class: S3ComputeLogManager
  config:
    bucket: {env: DAGSTER_COMPUTE_LOGS_BUCKET}
    prefix: {env: DAGSTER_COMPUTE_LOGS_PREFIX}
    local_dir: {env: DAGSTER_COMPUTE_LOGS_LOCAL_DIR}
    skip_empty_files: true
    upload_interval: 30
run_monitoring:
  enabled: true
  start_timeout_seconds: 180
  cancel_timeout_seconds: 180
  poll_interval_seconds: 30
run_retries:
  enabled: true
  max_retries: 0
"""

SERVER_INFO_TIMEOUT_S = 10
PORT_CLASH = re.compile(r"address already in use|failed to bind|could not bind", re.IGNORECASE)
STOP_GRACE_S = 25


@dataclass(frozen=True)
class PostgresTarget:
    """The database that holds Dagster's runs, event logs and schedules."""

    host: str
    port: int
    user: str
    password: str
    database: str


@dataclass(frozen=True)
class ComputeLogBucket:
    """Where step stdout/stderr go: a bucket and key prefix on an S3(-compatible) endpoint."""

    bucket: str
    prefix: str = "compute-logs"
    endpoint_url: str | None = None  # None: AWS itself
    access_key_id: str | None = None
    secret_access_key: str | None = None
    region: str = "us-east-1"

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
        )


def port_is_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def env_vars_read_by(config_text: str) -> set[str]:
    """Every `{env: NAME}` of a dagster.yaml."""
    names: set[str] = set()

    def walk(node) -> None:
        if isinstance(node, dict):
            if set(node) == {"env"} and isinstance(node["env"], str):
                names.add(node["env"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(yaml.safe_load(config_text))
    return names


def _proc_stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (state is [0], ppid [1]); None if gone or a zombie."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return None if fields[0] in ("Z", "X") else fields


def alive(pid: int) -> bool:
    """Whether the process exists and is not a zombie."""
    return _proc_stat(pid) is not None


def _signal_each(pids, signo: int) -> None:
    """Send the signal to each process that still exists."""
    for pid in pids:
        try:
            os.kill(pid, signo)
        except ProcessLookupError:
            pass


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (children, grandchildren, ...)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _proc_stat(int(entry.name))
            if fields is not None:
                parents[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _group_alive(pgid: int) -> bool:
    """Whether any live (non-zombie) process is in the group."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _proc_stat(int(entry.name))
            if fields is not None and int(fields[2]) == pgid:
                return True
    return False


def tail(path: Path, chars: int = 4000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else "(no log)"


class DeploymentError(RuntimeError):
    pass


@dataclass
class _Service:
    name: str
    argv: list[str]
    log: Path
    process: subprocess.Popen | None = None
    exit_code: int | None = None
    killed: bool = False
    extra_pids: set[int] = field(default_factory=set)


class ProductionDeployment:
    """Code server + webserver + daemon over a Postgres/S3 instance; ``start()``/``stop()`` or ``with``."""

    def __init__(
        self,
        base_dir: Path,
        *,
        postgres: PostgresTarget,
        compute_logs: ComputeLogBucket,
        pipeline_env: Mapping[str, str],
        deployment: str = "local",
        max_concurrent_runs: int = 1,
        instance_config: Path | None = None,
        startup_timeout_s: float = 180,
        extra_env: Mapping[str, str] | None = None,
    ):
        self.base_dir = Path(base_dir)
        self.postgres = postgres
        self.compute_logs = compute_logs
        self.pipeline_env = dict(pipeline_env)
        self.deployment = deployment
        self.max_concurrent_runs = max_concurrent_runs
        if instance_config is None and PRODUCTION_INSTANCE_CONFIG.exists():
            instance_config = PRODUCTION_INSTANCE_CONFIG
        self.instance_config_source = instance_config  # None: DEFAULT_INSTANCE_CONFIG
        self.startup_timeout_s = startup_timeout_s
        self.extra_env = dict(extra_env or {})

        self.dagster_home = self.base_dir / "dagster_home"
        self.log_dir = self.base_dir / "logs"
        self.compute_log_local_dir = self.base_dir / "compute_logs_staging"
        self.workspace_file = self.base_dir / "workspace.yaml"
        self.grpc_port: int | None = None
        self.webserver_port: int | None = None
        self.env: dict[str, str] = {}
        self.services: dict[str, _Service] = {}
        self.timings: dict[str, float] = {}
        self.api = DagsterApi(self)

    # ------------------------------------------------------------------ addresses
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.webserver_port}"

    @property
    def graphql_url(self) -> str:
        return f"{self.url}/graphql"

    # ------------------------------------------------------------------ configuration
    def instance_env(self) -> dict[str, str]:
        """The variables the instance config reads (both the default file's names and the AWS ones)."""
        pg, logs = self.postgres, self.compute_logs
        values = {
            "DAGSTER_PG_HOST": pg.host,
            "DAGSTER_PG_PORT": str(pg.port),
            "DAGSTER_PG_USER": pg.user,
            "DAGSTER_PG_PASSWORD": pg.password,
            "DAGSTER_PG_DB": pg.database,
            "DAGSTER_COMPUTE_LOGS_BUCKET": logs.bucket,
            "DAGSTER_COMPUTE_LOGS_PREFIX": logs.prefix,
            "DAGSTER_COMPUTE_LOGS_LOCAL_DIR": str(self.compute_log_local_dir),
            "DAGSTER_MAX_CONCURRENT_RUNS": str(self.max_concurrent_runs),
            "AWS_DEFAULT_REGION": logs.region,
            "AWS_REGION": logs.region,
        }
        if logs.endpoint_url:
            values["AWS_ENDPOINT_URL"] = logs.endpoint_url
        if logs.access_key_id:
            values["AWS_ACCESS_KEY_ID"] = logs.access_key_id
            values["AWS_SECRET_ACCESS_KEY"] = logs.secret_access_key or ""
        return values

    def instance_config_text(self) -> str:
        if self.instance_config_source is not None:
            return Path(self.instance_config_source).read_text()
        return DEFAULT_INSTANCE_CONFIG + "\n" + RETENTION_FILE.read_text()

    def _write_files(self) -> None:
        for directory in (self.dagster_home, self.log_dir, self.compute_log_local_dir):
            directory.mkdir(parents=True, exist_ok=True)
        text = self.instance_config_text()
        (self.dagster_home / "dagster.yaml").write_text(text)

        self.grpc_port, self.webserver_port = free_port(), free_port()
        while self.webserver_port == self.grpc_port:
            self.webserver_port = free_port()
        self.workspace_file.write_text(
            yaml.safe_dump(
                {
                    "load_from": [
                        {
                            "grpc_server": {
                                "host": "127.0.0.1",
                                "port": self.grpc_port,
                                "location_name": LOCATION_NAME,
                            }
                        }
                    ]
                },
                sort_keys=False,
            )
        )

        # The code server starts its own warm dbt, as in production, rather than using this process's.
        inherited = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PYTEST_", "DAGSTER_")) and k != dbt_fork_server.SOCKET_VARIABLE
        }
        if self.compute_logs.access_key_id:  # explicit keys: no other credentials from this environment
            for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE"):
                inherited.pop(name, None)
        self.env = {
            **inherited,
            **self.pipeline_env,
            **self.instance_env(),
            "DAGSTER_HOME": str(self.dagster_home),
            "DAGSTER_DEPLOYMENT": self.deployment,
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }
        missing = sorted(name for name in env_vars_read_by(text) if not self.env.get(name))
        if missing:
            raise DeploymentError(
                f"{self.instance_config_source or 'the default instance config'} reads environment "
                f"variables the harness does not provide: {', '.join(missing)} (pass them in extra_env)"
            )

    def _ensure_bucket(self) -> None:
        client = self.compute_logs.client()
        if self.compute_logs.bucket not in {b["Name"] for b in client.list_buckets()["Buckets"]}:
            client.create_bucket(Bucket=self.compute_logs.bucket)

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> Self:
        """Start the three processes and wait until they serve; on failure stop what started and raise.

        A port taken between choosing it and binding it (another process on the machine) is retried
        with new ports, twice.
        """
        for attempt in range(3):
            try:
                return self._start_once()
            except DeploymentError:
                if attempt == 2 or not self._lost_a_port():
                    raise
                self.services = {}

    def _lost_a_port(self) -> bool:
        return any(
            service.process is not None
            and service.process.returncode is not None
            and PORT_CLASH.search(tail(service.log, 20_000))
            for service in self.services.values()
        )

    def _start_once(self) -> Self:
        began = time.monotonic()
        atexit.register(self.stop)  # an interpreter that exits without stop() leaves nothing behind
        try:
            self._write_files()
            self._ensure_bucket()
            self._fail_orphaned_runs()
            self._spawn(
                "code-server",
                [
                    "dagster",
                    "code-server",
                    "start",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.grpc_port),
                    "-m",
                    "pipeline.definitions",
                    "--location-name",
                    LOCATION_NAME,
                ],
            )
            self._wait_for_code_server()
            self.timings["code_server_ready_s"] = time.monotonic() - began
            self._spawn(
                "webserver",
                [
                    "dagster-webserver",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.webserver_port),
                    "-w",
                    str(self.workspace_file),
                ],
            )
            self._spawn("daemon", ["dagster-daemon", "run", "-w", str(self.workspace_file)])
            self._wait_for_webserver()
            self.timings["webserver_ready_s"] = time.monotonic() - began
            self._wait_for_daemon()
            self.timings["daemon_healthy_s"] = time.monotonic() - began
        except BaseException:
            self.stop()
            raise
        return self

    def _fail_orphaned_runs(self) -> None:
        log = self.log_dir / "fail-orphaned-runs.log"
        with log.open("ab") as output:
            finished = subprocess.run(
                [sys.executable, "-m", "pipeline", "fail-orphaned-runs", "--location", LOCATION_NAME],
                cwd=REPO,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                timeout=self.startup_timeout_s,
            )
        if finished.returncode != 0:
            raise DeploymentError(f"fail-orphaned-runs exited with {finished.returncode}:\n{tail(log)}")

    def _spawn(self, name: str, argv: list[str]) -> None:
        service = _Service(name=name, argv=argv, log=self.log_dir / f"{name}.log")
        executable = str(BIN / argv[0])
        # Each process stages compute logs in a folder of its own, as on separate hosts: what the
        # webserver shows of a step's output must have come through the bucket.
        staging = self.compute_log_local_dir / name
        staging.mkdir(parents=True, exist_ok=True)
        env = {**self.env, "DAGSTER_COMPUTE_LOGS_LOCAL_DIR": str(staging)}
        with service.log.open("ab") as log:
            service.process = subprocess.Popen(
                ["env", "--default-signal=INT,TERM", executable, *argv[1:]],
                cwd=REPO,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.services[name] = service

    def _check_running(self) -> None:
        for service in self.services.values():
            if service.process is not None and service.process.poll() is not None:
                raise DeploymentError(
                    f"{service.name} exited with {service.process.returncode} during startup:\n{tail(service.log)}"
                )

    def _check_alive(self) -> None:
        """DeploymentError if a service has exited since start()."""
        for service in self.services.values():
            if service.process is not None and service.exit_code is None and service.process.poll() is not None:
                raise DeploymentError(f"{service.name} exited with {service.process.returncode}:\n{self.log_tails()}")

    def _deadline_passed(self, what: str, deadline: float) -> None:
        if time.monotonic() > deadline:
            raise DeploymentError(f"{what} not ready after {self.startup_timeout_s:.0f} s\n{self.log_tails()}")

    def _wait_for_code_server(self) -> None:
        from dagster._api.list_repositories import sync_list_repositories_grpc
        from dagster._core.errors import (
            DagsterUserCodeProcessError,
            DagsterUserCodeUnreachableError,
        )
        from dagster._grpc.client import DagsterGrpcClient

        client = DagsterGrpcClient(port=self.grpc_port, host="127.0.0.1")
        deadline = time.monotonic() + self.startup_timeout_s
        last_error = None
        while True:
            self._check_running()
            if port_is_open(self.grpc_port):
                try:
                    sync_list_repositories_grpc(client)  # raises until the definitions have loaded
                    return
                except DagsterUserCodeUnreachableError as exc:  # still starting
                    last_error = exc
                except DagsterUserCodeProcessError as exc:  # the code (or the instance) failed to load
                    raise DeploymentError(
                        f"the code server could not load the code: {exc}\n{self.log_tails()}"
                    ) from None
            self._deadline_passed(f"code server (last error: {last_error})", deadline)
            time.sleep(0.5)

    def _wait_for_webserver(self) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        while True:
            self._check_running()
            try:
                if requests.get(f"{self.url}/server_info", timeout=SERVER_INFO_TIMEOUT_S).status_code == 200:
                    break
            except requests.RequestException:
                pass
            self._deadline_passed("webserver /server_info", deadline)
            time.sleep(0.5)
        query = """{ workspaceOrError { __typename ... on Workspace { locationEntries { name
                     locationOrLoadError { __typename ... on PythonError { message } } } } } }"""
        while True:
            self._check_running()
            entries = self.graphql(query)["workspaceOrError"]["locationEntries"]
            states = {e["name"]: e["locationOrLoadError"] for e in entries}
            location = states.get(LOCATION_NAME)
            if location and location["__typename"] == "RepositoryLocation":
                return
            if location and location["__typename"] == "PythonError":
                raise DeploymentError(f"the webserver could not load {LOCATION_NAME}: {location['message']}")
            self._deadline_passed(f"location {LOCATION_NAME} in the webserver ({states})", deadline)
            time.sleep(0.5)

    def daemon_statuses(self) -> list[dict]:
        query = "{ instance { daemonHealth { allDaemonStatuses { daemonType required healthy } } } }"
        return self.graphql(query)["instance"]["daemonHealth"]["allDaemonStatuses"]

    def _wait_for_daemon(self) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        while True:
            self._check_running()
            statuses = self.daemon_statuses()
            required = [s for s in statuses if s["required"]]
            if required and all(s["healthy"] for s in required):
                return
            self._deadline_passed(f"dagster-daemon (statuses {statuses})", deadline)
            time.sleep(1)

    def stop(self) -> dict[str, int | None]:
        """Stop every process (daemon, webserver, code server, in that order) and wait; idempotent.

        Returns each service's exit code; ``killed`` on a service says it needed SIGKILL.
        """
        atexit.unregister(self.stop)
        for name in ("daemon", "webserver", "code-server"):
            service = self.services.get(name)
            if service is None or service.process is None or service.exit_code is not None:
                continue
            process = service.process
            pgid = process.pid  # start_new_session: the process leads its own group
            service.extra_pids = descendants(process.pid)  # run workers etc., whatever their session
            try:
                os.killpg(pgid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                process.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                service.killed = True
                self._kill_group(pgid)
                process.wait(timeout=10)
            service.exit_code = process.returncode
            # What is left of the group, and descendants that left it, get SIGTERM then SIGKILL.
            deadline = time.monotonic() + 10
            while True:
                leftovers = {pid for pid in service.extra_pids if alive(pid)}
                if not leftovers and not _group_alive(pgid):
                    break
                if time.monotonic() > deadline:
                    service.killed = True
                    self._kill_group(pgid)
                    _signal_each(leftovers, signal.SIGKILL)
                    time.sleep(0.5)
                    if not {pid for pid in leftovers if alive(pid)} and not _group_alive(pgid):
                        break
                    raise DeploymentError(f"processes of {name} survived SIGKILL: {sorted(leftovers)}")
                _signal_each(leftovers, signal.SIGTERM)
                time.sleep(0.3)
        return {name: s.exit_code for name, s in self.services.items()}

    def kill(self) -> None:
        """A power loss: SIGKILL to every process of every service at once (no grace); waits until gone."""
        atexit.unregister(self.stop)
        running = [s for s in self.services.values() if s.process is not None and s.exit_code is None]
        pids = set()
        for service in running:
            service.extra_pids = descendants(service.process.pid)
            pids |= {service.process.pid} | service.extra_pids
        _signal_each(pids, signal.SIGKILL)
        for service in running:
            self._kill_group(service.process.pid)
            service.process.wait(timeout=10)
            service.exit_code, service.killed = service.process.returncode, True
        deadline = time.monotonic() + 10
        while {pid for pid in pids if alive(pid)}:
            if time.monotonic() > deadline:
                raise DeploymentError(f"processes survived SIGKILL: {sorted(p for p in pids if alive(p))}")
            time.sleep(0.1)

    def left_running(self) -> dict[str, int]:
        """Service name -> pid of each service process still alive (empty after a complete stop())."""
        return {name: s.process.pid for name, s in self.services.items() if s.process and alive(s.process.pid)}

    @staticmethod
    def _kill_group(pgid: int) -> None:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def listening_ports(self) -> list[int]:
        """Our ports that still accept connections (empty after stop())."""
        return [p for p in (self.grpc_port, self.webserver_port) if p is not None and port_is_open(p)]

    # ------------------------------------------------------------------ use
    def graphql(self, query: str, variables: Mapping | None = None, timeout: float = 60) -> dict:
        """POST a query or mutation to /graphql; the ``data`` of the answer, or DeploymentError on ``errors``."""
        response = requests.post(
            self.graphql_url, json={"query": query, "variables": dict(variables or {})}, timeout=timeout
        )
        if response.status_code != 200:
            raise DeploymentError(f"GraphQL HTTP {response.status_code}: {response.text[:2000]}")
        body = response.json()
        if body.get("errors"):
            raise DeploymentError(f"GraphQL errors: {body['errors']}")
        return body["data"]

    def log_tails(self, chars: int = 3000) -> str:
        return "\n".join(
            f"--- {service.name} ({service.log}) ---\n{tail(service.log, chars)}" for service in self.services.values()
        )


# ---------------------------------------------------------------------------------------------------
# The webserver's GraphQL API, called as the UI calls it. The mutation texts are the UI's own
# (dagster-webserver's bundle: ui-core/src/runs/RunUtils.tsx LAUNCH_PIPELINE_EXECUTION_MUTATION and
# ui-core/src/instance/backfill/BackfillUtils.tsx LAUNCH_PARTITION_BACKFILL_MUTATION), with the
# PythonErrorFragment written out; the variables are built as ui-core/src/assets/
# LaunchAssetExecutionButton.tsx (executionParamsForAssetJob) and LaunchAssetChoosePartitionsDialog.tsx
# (onLaunchAsSingleRun / onLaunchAsBackfill) build them for "Materialize all" on a partitioned asset job.

PYTHON_ERROR_FRAGMENT = """
fragment PythonErrorFragment on PythonError {
  __typename
  message
  stack
  errorChain { isExplicitLink error { message stack } }
}
"""

LAUNCH_PIPELINE_EXECUTION_MUTATION = (
    """
mutation LaunchPipelineExecution($executionParams: ExecutionParams!) {
  launchPipelineExecution(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { id pipelineName } }
    ... on PipelineNotFoundError { message }
    ... on InvalidSubsetError { message }
    ... on RunConfigValidationInvalid { errors { message } }
    ...PythonErrorFragment
  }
}
"""
    + PYTHON_ERROR_FRAGMENT
)

LAUNCH_PARTITION_BACKFILL_MUTATION = (
    """
mutation LaunchPartitionBackfill($backfillParams: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $backfillParams) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PartitionSetNotFoundError { message }
    ... on PartitionKeysNotFoundError { message }
    ... on InvalidStepError { invalidStepKey }
    ... on InvalidOutputError { stepKey invalidOutputName }
    ... on UnauthorizedError { message }
    ... on PipelineNotFoundError { message }
    ... on RunConflict { message }
    ... on ConflictingExecutionParamsError { message }
    ... on PresetNotFoundError { message }
    ... on RunConfigValidationInvalid { pipelineName errors { message path reason } }
    ...PythonErrorFragment
  }
}
"""
    + PYTHON_ERROR_FRAGMENT
)

# What the launch dialog loads first: the job's assets with their checks (LaunchAssetLoaderQuery
# reads the same fields), then the partition's tags and config (ui-core/src/launchpad/ConfigFetch.tsx).
JOB_ASSETS_QUERY = """
query JobAssets($pipeline: PipelineSelector!) {
  assetNodes(pipeline: $pipeline) {
    assetKey { path }
    isPartitioned
    assetChecksOrError { __typename ... on AssetChecks { checks { name jobNames } } }
  }
}
"""

CONFIG_PARTITION_FOR_ASSET_JOB_QUERY = (
    """
query ConfigPartitionForAssetJobQuery(
  $repositoryName: String!, $repositoryLocationName: String!, $jobName: String!,
  $partitionName: String!, $assetKeys: [AssetKeyInput!]!
) {
  pipelineOrError(params: {pipelineName: $jobName, repositoryName: $repositoryName,
                           repositoryLocationName: $repositoryLocationName}) {
    __typename
    ... on Pipeline {
      id
      partition(partitionName: $partitionName, selectedAssetKeys: $assetKeys) {
        name
        runConfigOrError { ... on PartitionRunConfig { yaml } ...PythonErrorFragment }
        tagsOrError { ... on PartitionTags { results { key value } } ...PythonErrorFragment }
      }
    }
  }
}
"""
    + PYTHON_ERROR_FRAGMENT
)

RUN_QUERY = (
    """
query RunStatus($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run {
      id status jobName startTime endTime
      tags { key value }
      eventConnection(afterCursor: null) {
        events {
          __typename
          ... on ExecutionStepFailureEvent { stepKey error { message } }
          ... on RunFailureEvent { message }
          ... on LogsCapturedEvent { fileKey stepKeys }
        }
      }
    }
    ... on RunNotFoundError { message }
    ...PythonErrorFragment
  }
}
"""
    + PYTHON_ERROR_FRAGMENT
)

BACKFILL_QUERY = (
    """
query Backfill($backfillId: String!) {
  partitionBackfillOrError(backfillId: $backfillId) {
    __typename
    ... on PartitionBackfill {
      id status isAssetBackfill partitionNames
      runs(limit: 100) { id status tags { key value } }
    }
    ... on BackfillNotFoundError { message }
    ...PythonErrorFragment
  }
}
"""
    + PYTHON_ERROR_FRAGMENT
)

INSTIGATORS_QUERY = """
query Instigators($repositorySelector: RepositorySelector!) {
  sensorsOrError(repositorySelector: $repositorySelector) {
    __typename ... on Sensors { results { name sensorState { status } } }
  }
  schedulesOrError(repositorySelector: $repositorySelector) {
    __typename ... on Schedules { results { name scheduleState { status } } }
  }
}
"""

RUNS_QUERY = """
query Runs { runsOrError(limit: 200) { __typename ... on Runs { results { id status jobName tags { key value } } } } }
"""

CAPTURED_LOGS_QUERY = """
query CapturedLogs($logKey: [String!]!) {
  capturedLogs(logKey: $logKey) { stdout stderr }
  capturedLogsMetadata(logKey: $logKey) { stdoutLocation stderrLocation }
}
"""

FINISHED = ("SUCCESS", "FAILURE", "CANCELED")
BACKFILL_DONE = ("COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED")


def tags_of(item: Mapping) -> dict[str, str]:
    return {t["key"]: t["value"] for t in item["tags"]}


class DagsterApi:
    """The operations the UI performs, over the deployment's /graphql."""

    def __init__(self, deployment: ProductionDeployment):
        self.deployment = deployment

    @property
    def repository_selector(self) -> dict[str, str]:
        return {"repositoryLocationName": LOCATION_NAME, "repositoryName": REPOSITORY_NAME}

    def _query(self, query: str, variables: Mapping | None = None) -> dict:
        return self.deployment.graphql(query, variables)

    def job_selection(self, job: str) -> tuple[list[dict], list[dict]]:
        """The asset keys of ``job`` and the checks that run in it, as the UI's Materialize button sends them."""
        selector = {**self.repository_selector, "pipelineName": job}
        nodes = self._query(JOB_ASSETS_QUERY, {"pipeline": selector})["assetNodes"]
        if not nodes:
            raise DeploymentError(f"job {job} has no assets in {LOCATION_NAME}")
        assets = [{"path": node["assetKey"]["path"]} for node in nodes]
        checks = [  # getAssetCheckHandleInputs: the checks whose jobNames include this job
            {"name": check["name"], "assetKey": {"path": node["assetKey"]["path"]}}
            for node in nodes
            if node["assetChecksOrError"]["__typename"] == "AssetChecks"
            for check in node["assetChecksOrError"]["checks"]
            if not check["jobNames"] or job in check["jobNames"]
        ]
        return assets, checks

    def partition_tags_and_config(self, job: str, partition: str, assets: list[dict]) -> tuple[list[dict], str]:
        data = self._query(
            CONFIG_PARTITION_FOR_ASSET_JOB_QUERY,
            {
                "repositoryName": REPOSITORY_NAME,
                "repositoryLocationName": LOCATION_NAME,
                "jobName": job,
                "partitionName": partition,
                "assetKeys": assets,
            },
        )["pipelineOrError"]
        if data["__typename"] != "Pipeline" or not data.get("partition"):
            raise DeploymentError(f"no partition {partition} of {job}: {data}")
        found = data["partition"]
        for part in ("tagsOrError", "runConfigOrError"):
            if found[part].get("__typename") == "PythonError":
                raise DeploymentError(f"{part} of {job}/{partition}: {found[part]['message']}")
        return found["tagsOrError"]["results"], found["runConfigOrError"]["yaml"]

    def launch_partition_run(self, job: str, partition: str) -> str:
        """ "Materialize all" on the job's assets, one partition, "Launch 1 run": the new run's id."""
        return self.launch_run(job, partition)

    def launch_run(self, job: str, partition: str | None = None) -> str:
        """ "Materialize all" on the job's assets (of a partitioned job, one partition): the new run's id."""
        assets, checks = self.job_selection(job)
        tags, run_config = self.partition_tags_and_config(job, partition, assets) if partition else ([], {})
        execution_params = {
            "mode": "default",
            "executionMetadata": {"tags": [{"key": t["key"], "value": t["value"]} for t in tags]},
            "runConfigData": run_config,
            "selector": {
                **self.repository_selector,
                "pipelineName": job,
                "assetSelection": assets,
                "assetCheckSelection": checks,
            },
        }
        result = self._query(LAUNCH_PIPELINE_EXECUTION_MUTATION, {"executionParams": execution_params})
        launched = result["launchPipelineExecution"]
        if launched["__typename"] != "LaunchRunSuccess":
            raise DeploymentError(f"launchPipelineExecution: {launched}")
        return launched["run"]["id"]

    def launch_partition_backfill(self, job: str, partitions: list[str]) -> str:
        """The same dialog with several partitions ("Launch backfill") for a job that is not the hidden
        __ASSET_JOB: a job backfill with the asset selection; the backfill daemon submits its runs."""
        assets, _checks = self.job_selection(job)
        backfill_params = {
            "tags": [],
            "assetSelection": assets,
            "partitionNames": list(partitions),
            "fromFailure": False,
            "selector": {"partitionSetName": f"{job}_partition_set", "repositorySelector": self.repository_selector},
        }
        result = self._query(LAUNCH_PARTITION_BACKFILL_MUTATION, {"backfillParams": backfill_params})
        launched = result["launchPartitionBackfill"]
        if launched["__typename"] != "LaunchBackfillSuccess":
            raise DeploymentError(f"launchPartitionBackfill: {launched}")
        return launched["backfillId"]

    def run(self, run_id: str) -> dict:
        found = self._query(RUN_QUERY, {"runId": run_id})["runOrError"]
        if found["__typename"] != "Run":
            raise DeploymentError(f"runOrError({run_id}): {found}")
        return found

    def backfill(self, backfill_id: str) -> dict:
        found = self._query(BACKFILL_QUERY, {"backfillId": backfill_id})["partitionBackfillOrError"]
        if found["__typename"] != "PartitionBackfill":
            raise DeploymentError(f"partitionBackfillOrError({backfill_id}): {found}")
        return found

    def runs(self) -> list[dict]:
        return self._query(RUNS_QUERY)["runsOrError"]["results"]

    def instigator_statuses(self) -> dict[str, str]:
        """Every sensor's and schedule's status (RUNNING / STOPPED), by name."""
        data = self._query(INSTIGATORS_QUERY, {"repositorySelector": self.repository_selector})
        statuses = {s["name"]: s["sensorState"]["status"] for s in data["sensorsOrError"]["results"]}
        statuses.update({s["name"]: s["scheduleState"]["status"] for s in data["schedulesOrError"]["results"]})
        return statuses

    def captured_logs(self, run_id: str, file_key: str) -> dict:
        """A run's captured stdout/stderr as the webserver serves them (for S3: read from the bucket)."""
        return self._query(CAPTURED_LOGS_QUERY, {"logKey": [run_id, "compute_logs", file_key]})

    def failure_report(self, run_id: str) -> str:
        run = self.run(run_id)
        lines = [f"run {run_id} {run['jobName']} {run['status']} tags={tags_of(run)}"]
        for event in run["eventConnection"]["events"]:
            if event["__typename"] == "ExecutionStepFailureEvent":
                lines.append(f"  step {event['stepKey']} failed: {event['error']['message'][:1500]}")
            elif event["__typename"] == "RunFailureEvent":
                lines.append(f"  run failure: {event['message']}")
        return "\n".join(lines)

    def wait_for_run(self, run_id: str, timeout_s: float, poll_s: float = 1.0) -> dict:
        """The run once it has finished, whatever its status; DeploymentError with the logs on timeout."""
        deadline = time.monotonic() + timeout_s
        while True:
            self.deployment._check_alive()
            run = self.run(run_id)
            if run["status"] in FINISHED:
                return run
            if time.monotonic() > deadline:
                raise DeploymentError(
                    f"run {run_id} still {run['status']} after {timeout_s:.0f} s\n"
                    f"{self.failure_report(run_id)}\n{self.deployment.log_tails()}"
                )
            time.sleep(poll_s)

    def wait_for_backfill(self, backfill_id: str, timeout_s: float, poll_s: float = 2.0) -> dict:
        """The backfill once the daemon has marked it done and all its runs have finished."""
        deadline = time.monotonic() + timeout_s
        while True:
            self.deployment._check_alive()
            backfill = self.backfill(backfill_id)
            runs = backfill["runs"]
            if backfill["status"] in BACKFILL_DONE and all(r["status"] in FINISHED for r in runs):
                return backfill
            if time.monotonic() > deadline:
                reports = "\n".join(self.failure_report(r["id"]) for r in runs)
                raise DeploymentError(
                    f"backfill {backfill_id} still {backfill['status']} after {timeout_s:.0f} s; runs:\n{reports}\n"
                    f"{self.deployment.log_tails()}"
                )
            time.sleep(poll_s)
