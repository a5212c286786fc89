"""The dbt CLI resource: dagster-dbt's own, run with the dbt installed beside this Python, with the platform's
resolved settings in dbt's environment, and without the two costs dagster-dbt adds per run worker (a
`dbt --version` and a dbt adapter; pipeline/lib/dagster_internals.py says why they go and why that takes
private overrides).

Each command starts as pipeline/lib/dbt/fork_server.py's client, which sets the command's variables and runs dbt
through the warm dbt when one serves this process: started by the first dbt command of a process (never when
the definitions load), it saves the ~2 s a new dbt process spends importing dbt and tearing it down, on Linux
unless DBT_WARM=false.
"""

import multiprocessing
import sys
from collections.abc import Mapping
from typing import Self

from dagster_dbt import DbtCliResource, DbtProject
from pydantic import Field

from pipeline.lib.dagster_internals import DbtCliResourceWithoutProbes
from pipeline.lib.dbt import fork_server as dbt_fork_server


class LocalDbtCliResource(DbtCliResourceWithoutProbes, DbtCliResource):
    """DbtCliResource for the `dbt` of this environment (whether or not the virtualenv is on PATH), given the
    variables dbt reads (profiles.yml, the sources' and models' schemas) as values."""

    variables: dict[str, str] = Field(default_factory=dict, description="Set in dbt's environment for each command.")
    warm: bool = Field(default=False, description="Run dbt through a warm dbt this process owns (Linux).")

    def with_variables(self, variables: Mapping[str, str]) -> Self:
        """The same resource with more variables (a run's partition window)."""
        return local_dbt(self.project_dir, self.target, {**self.variables, **variables}, self.warm)

    def cli(self, args, **kwargs):
        # A step process of the multiprocess executor (a child made by multiprocessing) runs one dbt command
        # and ends: a server of its own would cost what it saves. It uses one it inherited, if any.
        if self.warm and multiprocessing.parent_process() is None:
            dbt_fork_server.ensure_running()
        return super().cli(args, **kwargs)


def warm_dbt_enabled(setting: bool) -> bool:
    # Linux only: that is where forking a process that has imported dbt is tested (CI). Elsewhere (macOS
    # forbids some libraries in a forked child, Windows cannot fork) dbt starts as a process of its own.
    return sys.platform == "linux" and setting


def local_dbt(project_dir, target: str, variables: Mapping[str, str], warm: bool) -> LocalDbtCliResource:
    return LocalDbtCliResource(
        project_dir=project_dir,
        target=target,
        dbt_executable=sys.executable,
        global_config_flags=dbt_fork_server.client_command(dict(variables)),
        variables=dict(variables),
        warm=warm,
    )


def dbt_resource(project: DbtProject, target: str, variables: Mapping[str, str], warm: bool) -> LocalDbtCliResource:
    return local_dbt(project, target, variables, warm_dbt_enabled(warm))
