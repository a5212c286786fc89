"""The dbt CLI resource: dagster-dbt's own, run with the dbt installed beside this Python, without two
costs per run that buy this project nothing (measured with `python -m pipeline.bench`):

- dagster-dbt asks the executable for its version (`dbt --version`, a second Python start of ~2 s) the
  first time each resource runs a command, which in a deployment is once per run worker, so once per
  run. The executable here is always the one in this environment, whose version is the installed
  dbt-core package's: it is read from the package metadata instead.
- before each command it builds a dbt adapter inside the run worker (loading the profile and parsing
  all ~500 of dbt's macros, ~1 s) for `fetch_row_counts()` / `fetch_column_metadata()`, which this
  project does not call (the `*_has_rows` checks count rows themselves). Without an adapter those
  two would say so; nothing else of dagster-dbt uses it.
"""

import importlib.metadata
import sys
from functools import cached_property
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject
from packaging import version

DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))


class LocalDbtCliResource(DbtCliResource):
    """DbtCliResource for the `dbt` of this environment (whether or not the virtualenv is on PATH)."""

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args):
        return None


def dbt_resource(project: DbtProject, target: str) -> LocalDbtCliResource:
    return LocalDbtCliResource(project_dir=project, target=target, dbt_executable=DBT_EXECUTABLE)
