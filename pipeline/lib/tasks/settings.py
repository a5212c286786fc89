"""The container tasks' configuration: where they run and the conventions their review enforces."""

from pathlib import Path
from typing import Literal, Self

from pydantic import Field, PositiveInt, field_validator

from pipeline.lib.settings import LOCAL_DIR, PipelineSettings, Settings


class TasksSettings(PipelineSettings):
    # local: each task's command in a subprocess, in a throw-away folder; ecs: its image on ECS Fargate.
    engine: Literal["local", "ecs"] = Field("local", validation_alias="TASKS_ENGINE")
    # The example tasks' outputs (a folder or s3://bucket/prefix); a sandbox's own under its folder.
    data_uri: str = Field(str(LOCAL_DIR / "tasks"), validation_alias="TASKS_DATA_URI")
    # A task's role must be named with this prefix (the data engineers' convention for roles they review).
    role_prefix: str = Field("task-", validation_alias="TASKS_ROLE_PREFIX")
    # ecs: where the tasks run (Fargate, in private subnets: the images come through the VPC's endpoints or NAT).
    ecs_cluster: str = Field("", validation_alias="TASKS_ECS_CLUSTER")
    ecs_subnets: str = Field("", validation_alias="TASKS_ECS_SUBNETS")  # comma-separated subnet ids
    ecs_security_groups: str = Field("", validation_alias="TASKS_ECS_SECURITY_GROUPS")  # comma-separated ids
    ecs_assign_public_ip: Literal["ENABLED", "DISABLED"] = Field(
        "DISABLED", validation_alias="TASKS_ECS_ASSIGN_PUBLIC_IP"
    )
    # ecs: the role ECS itself uses to pull a task's image, read its SSM secrets and write its logs.
    ecs_execution_role_arn: str = Field("", validation_alias="TASKS_ECS_EXECUTION_ROLE_ARN")
    ecs_log_group: str = Field("/dagster/tasks", validation_alias="TASKS_ECS_LOG_GROUP")  # made by the deploy
    ecs_poll_seconds: PositiveInt = Field(6, validation_alias="TASKS_ECS_POLL_SECONDS")  # how often a run asks ECS
    # ecs: where a task built from its Dockerfile is pushed, as <repository>:<task name>.
    image_repository: str = Field("", validation_alias="TASKS_IMAGE_REPOSITORY")

    @field_validator("ecs_assign_public_ip", mode="before")
    @classmethod
    def _upper_case(cls, value):
        return value.upper() if isinstance(value, str) else value

    @classmethod
    def resolve(cls, settings: Settings) -> Self:
        resolved = super().resolve(settings)
        if settings.sandbox:  # a sandbox's task outputs are its own, whatever else is set
            return resolved.model_copy(
                update={"data_uri": str(Path(settings.sandbox_dir) / settings.sandbox / "tasks")}
            )
        return resolved
