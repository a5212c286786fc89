"""How a container task runs: on the engine TASKS_ENGINE names, local (a subprocess, local.py) or ecs (its image
on ECS Fargate, ecs.py)."""

from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from pipeline.lib.settings import env
from pipeline.lib.tasks.ecs import run_on_ecs
from pipeline.lib.tasks.local import run_locally
from pipeline.lib.tasks.spec import ContainerTask

ENGINES = {"local": run_locally, "ecs": run_on_ecs}


def run_task(task: ContainerTask, folder: Path, context: dg.AssetExecutionContext) -> Iterator[dg.MaterializeResult]:
    engine = env("TASKS_ENGINE").lower()
    if engine not in ENGINES:
        raise dg.Failure(f"TASKS_ENGINE={engine!r}: give one of {', '.join(ENGINES)}", allow_retries=False)
    yield from ENGINES[engine](task, folder, context)
