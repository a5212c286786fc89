"""How a container task runs: on the engine the settings name, local (a subprocess, local.py) or ecs (its image
on ECS Fargate, ecs.py)."""

from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from pipeline.lib.tasks.local import run_locally
from pipeline.lib.tasks.settings import TasksSettings
from pipeline.lib.tasks.spec import TaskSpec


def run_task(
    task: TaskSpec, folder: Path, context: dg.AssetExecutionContext, settings: TasksSettings
) -> Iterator[dg.MaterializeResult]:
    if settings.engine == "ecs":
        # dagster-aws's Pipes clients load only for a run on ECS: importing dagster-aws costs every load ~0.9 s.
        from pipeline.lib.tasks.ecs import run_on_ecs

        yield from run_on_ecs(task, folder, context, settings)
    else:
        yield from run_locally(task, folder, context)
