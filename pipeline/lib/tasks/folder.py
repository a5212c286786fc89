"""The tasks folder (`pipeline/defs/tasks/`): each task folder under it loaded on its own.

Dagster would stop the whole code location at one broken defs.yaml; here a broken task is reported instead (an
asset named after its folder, which fails with the review's reasons when run, and a warning when the code
loads) and every other task and pipeline loads as usual.
"""

import logging
from collections.abc import Mapping
from pathlib import Path

import dagster as dg

from pipeline.lib.code_references import code_reference
from pipeline.lib.tasks.assets import task_definitions
from pipeline.lib.tasks.review import Problem, load_task, task_folders
from pipeline.lib.tasks.settings import TasksSettings
from pipeline.lib.tasks.spec import GROUP

log = logging.getLogger(__name__)


def broken_task(folder: Path, problems: list[Problem]) -> dg.Definitions:
    reasons = "; ".join(str(problem) for problem in problems)

    @dg.asset(
        key=[GROUP, "broken", folder.name],
        group_name=GROUP,
        description=f"BROKEN task definition, not loaded: {reasons}",
        kinds={"docker"},
        metadata=code_reference(folder.resolve() / "defs.yaml"),
    )
    def broken(context: dg.AssetExecutionContext) -> None:
        raise dg.Failure(f"task folder {folder} is broken: {reasons}", allow_retries=False)

    return dg.Definitions(assets=[broken])


def task_folder_definitions(path: Path, settings: TasksSettings, variables: Mapping[str, str]) -> dg.Definitions:
    """Every task folder under `path`: its definitions, or its broken-task asset. A task's `{{ env.NAME }}`
    templates read `variables` (the platform's resolved settings and the environment)."""
    found = []
    for folder in task_folders(path):
        task, problems = load_task(folder, variables, settings.role_prefix)
        if problems:
            log.warning("task %s not loaded: %s", folder.name, "; ".join(map(str, problems)))
            found.append(broken_task(folder, problems))
        else:
            found.append(task_definitions(task, folder, settings))
    return dg.Definitions.merge(*found)
