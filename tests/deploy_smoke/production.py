"""A production-style Dagster deployment on one machine, for smoke tests: three long-lived processes
over one instance, as a server runs them.

    with ProductionDeployment(base_dir, postgres=PostgresTarget(...), compute_logs=ComputeLogBucket(...),
                              pipeline_env={...}) as deployment:
        deployment.graphql("{ version }")

What it starts, each with `env --default-signal=INT,TERM` in a session of its own, logging to
``<base_dir>/logs/<name>.log``:

- ``code-server``: ``dagster code-server start -h 127.0.0.1 -p <port> -m pipeline.definitions`` from the
  repository (the Dockerfile's command); run workers are its children;
- ``webserver``: ``dagster-webserver -h 127.0.0.1 -p <port> -w <base_dir>/workspace.yaml``;
- ``daemon``: ``dagster-daemon run -w <base_dir>/workspace.yaml``.

The workspace file names the code server as ``grpc_server`` (location ``sparkify``), as a deployment
whose code runs in its own container does. The instance (``<base_dir>/dagster_home/dagster.yaml``) is
``deploy/dagster.yaml`` from the repository when that file exists, else ``DEFAULT_INSTANCE_CONFIG``
below: Postgres for runs, event logs and schedules, the queued run coordinator, compute logs in S3.
Either way every setting comes from environment variables, which ``instance_env()`` provides; a
variable the file reads that nobody provides fails ``start()`` with its name.

``start()`` returns once the code server serves its definitions, the webserver answers
``/server_info`` and has loaded the location, and the daemon reports healthy through GraphQL.
``stop()`` stops the daemon, then the webserver, then the code server (SIGTERM to each process group,
SIGKILL after a grace period) and any process any of them started, even one in another session, and
waits until they are gone. Nothing here is pytest-specific.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import requests
import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PRODUCTION_INSTANCE_CONFIG = REPO / "deploy" / "dagster.yaml"
RETENTION_FILE = REPO / "pipeline" / "maintenance" / "instance_retention.yaml"
LOCATION_NAME = "sparkify"
REPOSITORY_NAME = "__repository__"

# The instance when the repository has no deploy/dagster.yaml: the same kind of file, every value from
# the environment. S3ComputeLogManager has no endpoint here: boto3 reads AWS_ENDPOINT_URL itself
# (botocore >= 1.31), so an S3-compatible store (MinIO, moto) needs no change to the file.
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
            "s3", endpoint_url=self.endpoint_url, region_name=self.region,
            aws_access_key_id=self.access_key_id, aws_secret_access_key=self.secret_access_key,
        )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
    fields = text[text.rindex(")") + 2:].split()
    return None if fields[0] in ("Z", "X") else fields


def _alive(pid: int) -> bool:
    return _proc_stat(pid) is not None


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
        self.workspace_file.write_text(yaml.safe_dump({"load_from": [{"grpc_server": {
            "host": "127.0.0.1", "port": self.grpc_port, "location_name": LOCATION_NAME,
        }}]}, sort_keys=False))

        inherited = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DAGSTER_"))}
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
    def __enter__(self) -> ProductionDeployment:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> ProductionDeployment:
        began = time.monotonic()
        try:
            self._write_files()
            self._ensure_bucket()
            self._spawn("code-server", [
                "dagster", "code-server", "start", "-h", "127.0.0.1", "-p", str(self.grpc_port),
                "-m", "pipeline.definitions", "--location-name", LOCATION_NAME,
            ])
            self._wait_for_code_server()
            self.timings["code_server_ready_s"] = time.monotonic() - began
            self._spawn("webserver", [
                "dagster-webserver", "-h", "127.0.0.1", "-p", str(self.webserver_port), "-w", str(self.workspace_file),
            ])
            self._spawn("daemon", ["dagster-daemon", "run", "-w", str(self.workspace_file)])
            self._wait_for_webserver()
            self.timings["webserver_ready_s"] = time.monotonic() - began
            self._wait_for_daemon()
            self.timings["daemon_healthy_s"] = time.monotonic() - began
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, name: str, argv: list[str]) -> None:
        service = _Service(name=name, argv=argv, log=self.log_dir / f"{name}.log")
        executable = str(BIN / argv[0])
        with service.log.open("ab") as log:
            service.process = subprocess.Popen(
                ["env", "--default-signal=INT,TERM", executable, *argv[1:]],
                cwd=REPO, env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.services[name] = service

    def _check_running(self) -> None:
        for service in self.services.values():
            if service.process is not None and service.process.poll() is not None:
                raise DeploymentError(
                    f"{service.name} exited with {service.process.returncode} during startup:\n{tail(service.log)}"
                )

    def _deadline_passed(self, what: str, deadline: float) -> None:
        if time.monotonic() > deadline:
            raise DeploymentError(f"{what} not ready after {self.startup_timeout_s:.0f} s\n{self.log_tails()}")

    def _wait_for_code_server(self) -> None:
        from dagster._api.list_repositories import sync_list_repositories_grpc
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
                except Exception as exc:  # noqa: BLE001 - still loading, or a load error we report on timeout
                    last_error = exc
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
                leftovers = {pid for pid in service.extra_pids if _alive(pid)}
                if not leftovers and not _group_alive(pgid):
                    break
                if time.monotonic() > deadline:
                    service.killed = True
                    self._kill_group(pgid)
                    for pid in leftovers:
                        try:
                            os.kill(pid, signal.SIGKILL)
                        except ProcessLookupError:
                            pass
                    time.sleep(0.5)
                    if not {pid for pid in leftovers if _alive(pid)} and not _group_alive(pgid):
                        break
                    raise DeploymentError(f"processes of {name} survived SIGKILL: {sorted(leftovers)}")
                for pid in leftovers:
                    try:
                        os.kill(pid, signal.SIGTERM)
                    except ProcessLookupError:
                        pass
                time.sleep(0.3)
        return {name: s.exit_code for name, s in self.services.items()}

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
