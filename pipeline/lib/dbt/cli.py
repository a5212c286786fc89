"""The dbt CLI resource: dagster-dbt's own, run with the dbt installed beside this Python, without the two
costs dagster-dbt adds per run worker (a `dbt --version` and a dbt adapter; pipeline/lib/dagster_internals.py
says why they go and why that takes private overrides).

And it runs each command through a warm dbt (pipeline/lib/dbt/fork_server.py), which saves the ~2 s a new dbt
process spends importing dbt and tearing it down, on Linux unless DBT_WARM=false.
"""

import sys

from dagster_dbt import DbtCliResource, DbtProject

from pipeline.lib.dagster_internals import DbtCliResourceWithoutProbes
from pipeline.lib.dbt import fork_server as dbt_fork_server
from pipeline.lib.settings import env


class LocalDbtCliResource(DbtCliResourceWithoutProbes, DbtCliResource):
    """DbtCliResource for the `dbt` of this environment (whether or not the virtualenv is on PATH)."""


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
        project_dir=project,
        target=target,
        dbt_executable=sys.executable,
        global_config_flags=dbt_fork_server.CLIENT_COMMAND,
    )
