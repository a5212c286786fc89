"""The local Dagster instance in DAGSTER_HOME that the platform's commands and `dg dev` share (`make ui`), and
the settings the demo's runs in it were made with (DEMO_ENV_FILE), which `python -m pipeline ui` reuses.

Runs, event logs and schedules live in SQLite files there. Production uses deploy/dagster.yaml instead;
both keep ticks for the same time (INSTANCE_RETENTION_FILE, the `retention:` block the daemon applies).
"""

import contextlib
import shlex
from collections.abc import Iterator, Mapping
from pathlib import Path

import dagster as dg

from pipeline.lib.settings import Settings

INSTANCE_RETENTION_FILE = Path(__file__).with_name("instance_retention.yaml")
DEMO_ENV_FILE = "demo.env"  # in DAGSTER_HOME: the instance the demo's runs are in

# One run at a time: the embedded DuckDB file takes one writer, and backfills of a job launch one run per day.
# nux off: the UI's "join the community" pop-up would cover the first page a newcomer opens after `make demo`.
LOCAL_INSTANCE_CONFIG = """\
telemetry:
  enabled: false
nux:
  enabled: false
concurrency:
  runs:
    max_concurrent_runs: 1
"""

DEMO_ENV_HEADER = """\
# Written by `python -m pipeline demo`: the settings its runs in this instance were made with.
# `python -m pipeline ui` exports each one you have not set yourself (and says so), so the UI counts
# the demo's days as its partitions. For the dagster CLI: set -a; source {path}; set +a
# Delete this file to stop it; the next `make demo` writes it again.
"""


def ensure_dagster_home(dagster_home: str | Path) -> None:
    """DAGSTER_HOME exists and has a dagster.yaml; the local default keeps everything in that folder."""
    home = Path(dagster_home)
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(LOCAL_INSTANCE_CONFIG + INSTANCE_RETENTION_FILE.read_text())


def demo_env_path(dagster_home: str | Path) -> Path:
    return Path(dagster_home) / DEMO_ENV_FILE


@contextlib.contextmanager
def local_instance(settings: Settings) -> Iterator[dg.DagsterInstance]:
    """The instance in the settings' DAGSTER_HOME (a sandbox's own), made if need be."""
    ensure_dagster_home(settings.dagster_home)
    with dg.DagsterInstance.from_config(settings.dagster_home) as instance:
        yield instance


def record_demo_environment(dagster_home: str | Path, variables: Mapping[str, str]) -> Path:
    """Write the demo's settings beside the instance in DAGSTER_HOME (shell syntax, one NAME=value a line)."""
    path = demo_env_path(dagster_home)
    lines = [f"{name}={shlex.quote(value)}" for name, value in variables.items()]
    path.write_text(DEMO_ENV_HEADER.format(path=shlex.quote(str(path))) + "\n".join(lines) + "\n")
    return path


def read_demo_environment(dagster_home: str | Path) -> dict[str, str]:
    """The settings the demo recorded in that DAGSTER_HOME; none if it has not run there."""
    path = demo_env_path(dagster_home)
    if not path.exists():
        return {}
    variables = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            variables[name.strip()] = shlex.split(value)[0] if value.strip() else ""
    return variables


def with_demo_environment(
    environ: Mapping[str, str], dagster_home: str | Path
) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """The environment with the demo's recorded settings where the user has set none.

    The demo runs with its own lake and first day; the UI, started later in another process over the same
    instance, must use the same ones or it counts the demo's days against other partitions. A value the
    user set wins. Returns (the environment, the values put in, the recorded values the user's own replace).
    """
    applied, replaced = {}, {}
    for name, value in read_demo_environment(dagster_home).items():
        mine = (environ.get(name) or "").strip()
        if not mine:
            applied[name] = value
        elif mine != value:
            replaced[name] = value
    return {**environ, **applied}, applied, replaced
