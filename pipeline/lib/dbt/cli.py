"""The dbt CLI resource: dagster-dbt's own, run with the dbt installed beside this Python, without two
costs per run that buy this project nothing (measured with `python -m bench`):

- dagster-dbt asks the executable for its version (`dbt --version`, a second Python start of ~2 s) the
  first time each resource runs a command, which in a deployment is once per run worker, so once per
  run. The executable here is always the one in this environment, whose version is the installed
  dbt-core package's: it is read from the package metadata instead.
- before each command it builds a dbt adapter inside the run worker (loading the profile and parsing
  all ~500 of dbt's macros, ~1 s) for `fetch_row_counts()` / `fetch_column_metadata()`, which this
  project does not call (the `*_has_rows` checks count rows themselves). Without an adapter those
  two would say so; nothing else of dagster-dbt uses it.

And it runs each command through a warm dbt (pipeline/lib/dbt/fork_server.py), which saves the ~2 s a new dbt
process spends importing dbt and tearing it down, on Linux unless DBT_WARM=false.
"""

import importlib.metadata
import sys
from functools import cached_property

from dagster_dbt import DbtCliResource, DbtProject
from packaging import version

from pipeline.lib.dbt import fork_server as dbt_fork_server
from pipeline.lib.settings import env

class LocalDbtCliResource(DbtCliResource):
    """DbtCliResource for the `dbt` of this environment (whether or not the virtualenv is on PATH)."""

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args):
        return None


def warm_dbt_enabled() -> bool:
    # Linux only: that is where forking a process that has imported dbt is tested (CI). Elsewhere (macOS
    # forbids some libraries in a forked child, Windows cannot fork) dbt starts as a process of its own.
    return sys.platform == "linux" and env("DBT_WARM").lower() != "false"


def dbt_resource(project: DbtProject, target: str) -> LocalDbtCliResource:
    if not warm_dbt_enabled():
        return LocalDbtCliResource(project_dir=project, target=target, dbt_executable=dbt_fork_server.DBT_EXECUTABLE)
    # Started when the code location loads, so that it has imported dbt before the first run needs it
    # and serves every run worker and step process the code server starts.
    dbt_fork_server.ensure_running()
    return LocalDbtCliResource(
        project_dir=project, target=target, dbt_executable=sys.executable,
        global_config_flags=dbt_fork_server.CLIENT_COMMAND,
    )
