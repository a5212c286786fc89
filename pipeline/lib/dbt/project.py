"""The platform's one dbt project (dbt_project/, a folder of models per pipeline) and when its manifest is prepared.

dagster-dbt builds the asset graph from target/manifest.json. Preparing it is explicit, never a side effect of
loading the definitions in production: `python -m pipeline prepare` (which `make` runs when a model changed,
and the image's build runs once), and under `dagster dev` / `dg dev` a parse when the project is newer than
its manifest, which is what `DbtProject.prepare_if_dev()` is for. dagster-dbt 0.29's DbtProject takes no
custom preparer, and its own runs the `dbt` found on PATH without this platform's settings in its
environment, so the same rule is kept here with `prepare_manifest` (pipeline/lib/dbt/manifest.py).
"""

import functools

from dagster_dbt import DbtProject

from pipeline.lib.dbt.manifest import prepare_manifest
from pipeline.lib.settings import DBT_PROJECT_DIR, Settings

# Set by `dagster dev` (and so `dg dev`) for the processes it starts: the development loop.
DEV_CLI_VARIABLE = "DAGSTER_IS_DEV_CLI"


@functools.cache
def _project(target: str) -> DbtProject:
    return DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR, target=target)


def dbt_project(settings: Settings) -> DbtProject:
    """The dbt project on the settings' warehouse (one object per target: dagster-dbt caches its manifest)."""
    return _project(settings.warehouse)


def prepare_if_dev(settings: Settings) -> None:
    """Under `dagster dev` / `dg dev`, parse the project when a model or macro is newer than its manifest: once per
    load of the code location, before its dbt assets read the manifest."""
    if settings.environ.get(DEV_CLI_VARIABLE):
        prepare_manifest(settings.dbt_variables(), settings.warehouse)
