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
        # ecs: where the tasks run (Fargate, in private subnets: the images come through the VPC's endpoints or NAT).
        "TASKS_ECS_CLUSTER": "",
        "TASKS_ECS_SUBNETS": "",  # comma-separated subnet ids
        "TASKS_ECS_SECURITY_GROUPS": "",  # comma-separated security group ids
        "TASKS_ECS_ASSIGN_PUBLIC_IP": "DISABLED",
        # ecs: the role ECS itself uses to pull a task's image, read its SSM secrets and write its logs.
        "TASKS_ECS_EXECUTION_ROLE_ARN": "",
        "TASKS_ECS_LOG_GROUP": "/dagster/tasks",  # the tasks' CloudWatch log group (created by the deploy)
        "TASKS_ECS_POLL_SECONDS": "6",  # how often a run asks ECS whether its task has stopped
        # ecs: where a task built from its Dockerfile is pushed, as <repository>:<task name>.
        "TASKS_IMAGE_REPOSITORY": "",
    }
)
