"""ContainerTask, the Dagster component of a task's defs.yaml (`type: pipeline.lib.tasks.ContainerTask`): what
`dg list components` offers and `dg scaffold defs` writes. The code location loads the tasks folder itself
(folder.py, with the platform's resolved settings); a component loaded by dg's own loader takes its settings
from the environment."""

from pathlib import Path

import dagster as dg

from pipeline.lib.settings import Settings
from pipeline.lib.tasks.assets import task_definitions
from pipeline.lib.tasks.settings import TasksSettings
from pipeline.lib.tasks.spec import TaskSpec


class ContainerTask(TaskSpec, dg.Component):
    """An analyst's container task: an image (or a Dockerfile) and a command, run locally or on ECS Fargate."""

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        return task_definitions(self, Path(context.path), TasksSettings.resolve(Settings.from_env()))
