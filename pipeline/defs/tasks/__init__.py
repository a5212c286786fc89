"""Analysts' container tasks: one folder per task, each with its defs.yaml (type pipeline.lib.tasks.ContainerTask),
its files and its iam_policy.json. Each loads on its own: a broken task never stops the others."""
