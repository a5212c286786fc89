"""Analysts' container tasks: the ContainerTask component (one task's YAML), its review, and how it runs."""

from pipeline.lib.tasks.component import ContainerTask

__all__ = ["ContainerTask"]
