"""Analysts' container tasks: the ContainerTask component (one task's YAML) and the TaskFolder that loads them all."""

from pipeline.lib.tasks.folder import TaskFolder
from pipeline.lib.tasks.spec import ContainerTask

__all__ = ["ContainerTask", "TaskFolder"]
