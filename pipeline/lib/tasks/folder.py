"""TaskFolder: the component of `pipeline/defs/tasks/`, which loads each task folder under it on its own.

Dagster would stop the whole code location at one broken defs.yaml; here a broken task is reported instead (an
asset named after its folder, which fails with the review's reasons when run, and a warning when the code
loads) and every other task and pipeline loads as usual.
"""

import logging
from pathlib import Path

import dagster as dg

from pipeline.lib.settings import declare_pipeline_settings
from pipeline.lib.tasks.review import Problem, load_task, task_folders
from pipeline.lib.tasks.spec import GROUP

log = logging.getLogger(__name__)


def broken_task(folder: Path, problems: list[Problem]) -> dg.Definitions:
    reasons = "; ".join(str(problem) for problem in problems)

    @dg.asset(
        key=[GROUP, "broken", folder.name],
        group_name=GROUP,
        description=f"BROKEN task definition, not loaded: {reasons}",
        kinds={"docker"},
    )
    def broken(context: dg.AssetExecutionContext) -> None:
        raise dg.Failure(f"task folder {folder} is broken: {reasons}", allow_retries=False)

    return dg.Definitions(assets=[broken])


def task_folder_definitions(path: Path) -> dg.Definitions:
    """Every task folder under `path`: its definitions, or its broken-task asset."""
    declare_pipeline_settings()
    found = []
    for folder in task_folders(path):
        task, problems = load_task(folder)
        if problems:
            log.warning("task %s not loaded: %s", folder.name, "; ".join(map(str, problems)))
            found.append(broken_task(folder, problems))
        else:
            found.append(task.definitions(folder))
    return dg.Definitions.merge(*found)


class TaskFolder(dg.Component, dg.Model, dg.Resolvable):
    """Every `<name>/defs.yaml` under this folder as a ContainerTask; a broken one is reported, not fatal."""

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        return task_folder_definitions(Path(context.path))
