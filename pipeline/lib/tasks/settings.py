"""The container tasks' configuration: where they run and the conventions their review enforces."""

from pipeline.lib.settings import LOCAL_DIR, declare_defaults

declare_defaults(
    {
        # local: each task's command in a subprocess, in a throw-away folder; ecs: its image on ECS Fargate.
        "TASKS_ENGINE": "local",
        # The example tasks' outputs (a folder or s3://bucket/prefix).
        "TASKS_DATA_URI": str(LOCAL_DIR / "tasks"),
        # A task's role must be named with this prefix (the data engineers' convention for roles they review).
        "TASKS_ROLE_PREFIX": "task-",
    }
)
