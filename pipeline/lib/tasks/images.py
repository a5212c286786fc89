"""`python -m pipeline task-images`: the image of every task built from its Dockerfile, built (and with --push,
pushed) under the tag the ECS engine runs, TASKS_IMAGE_REPOSITORY:<name> (ecs.task_image). CI runs it after a
merge, logged in to the registry; --dry-run prints the docker commands instead.

Built for linux/amd64: the tasks' definitions name no runtime platform, so Fargate runs them on x86_64, whatever
machine built the image.
"""

import shlex
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import dagster as dg

from pipeline.lib.tasks.ecs import task_image
from pipeline.lib.tasks.review import load_task, task_folders
from pipeline.lib.tasks.settings import TasksSettings

PLATFORM = "linux/amd64"


def image_commands(
    tasks_dir: Path, push: bool, settings: TasksSettings, variables: Mapping[str, str]
) -> list[list[str]]:
    """The docker commands for every built task, in name order; a broken task or a missing repository refuses."""
    commands = []
    for folder in task_folders(tasks_dir):
        task, problems = load_task(folder, variables, settings.role_prefix)
        if problems:
            raise ValueError(f"task {folder.name} is broken: {problems[0]} (python -m pipeline check-tasks)")
        if task.build is None:
            continue
        try:
            tag = task_image(task, settings)
        except dg.Failure as failure:
            raise ValueError(failure.description) from None
        context = (folder / task.build).resolve()
        commands.append(["docker", "build", "--platform", PLATFORM, "--tag", tag, str(context)])
        if push:
            commands.append(["docker", "push", tag])
    return commands


def task_images_command(
    tasks_dir: Path, push: bool, dry_run: bool, settings: TasksSettings, variables: Mapping[str, str]
) -> int:
    try:
        commands = image_commands(tasks_dir, push, settings, variables)
    except ValueError as error:
        print(f"task-images: {error}", file=sys.stderr)
        return 1
    for command in commands:
        print(shlex.join(command), flush=True)
        if not dry_run:
            subprocess.run(command, check=True)
    return 0
