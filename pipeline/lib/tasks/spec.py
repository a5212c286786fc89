"""ContainerTask: an analyst's task declared in `pipeline/defs/tasks/<name>/defs.yaml`, the Dagster component that
makes it an asset (or several) with its job and schedule.

A task is an image (or a folder with a Dockerfile) and a command. What it may touch on AWS is its role (a role
ARN, or the `iam_policy.json` beside its YAML that the data engineers review: review.py). Its environment is
declared: plain values, and secrets only by reference (an SSM parameter name, or a variable of the Dagster
process), resolved when it runs and given to that task alone.
"""

import json
import re
from pathlib import Path
from typing import Literal

import dagster as dg
from pydantic import field_validator, model_validator

GROUP = "tasks"
NAME = re.compile(r"^[a-z][a-z0-9_]{1,62}$")
ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
RESERVED_ENV = ("DAGSTER_", "PATH", "HOME")  # set by the runner, never by a task


class SecretRef(dg.Model):
    """A secret by reference: exactly one of an SSM parameter name or a variable of the Dagster process."""

    ssm: str | None = None
    env: str | None = None

    @model_validator(mode="after")
    def _one_source(self):
        if (self.ssm is None) == (self.env is None):
            raise ValueError("give exactly one of ssm (a parameter name) or env (a variable name)")
        return self


DOCKERFILE = """FROM python:3.11-slim
WORKDIR /task
COPY main.py .
USER 65534
CMD ["python", "main.py"]
"""


class TaskScaffolder(dg.Scaffolder):
    """`dg scaffold defs pipeline.lib.tasks.ContainerTask tasks/<name>`: a task that passes review and runs, to fill
    in: its YAML, a policy that may write under its one S3 prefix, a main.py and the Dockerfile that puts it in
    the task's image (on ECS the command runs in the image, not in this folder)."""

    def scaffold(self, request: dg.ScaffoldRequest) -> None:
        name, folder = Path(request.target_path).name, Path(request.target_path)
        prefix = f"your-tasks-bucket/{name}/"
        dg.scaffold_component(
            request,
            {
                "name": name,
                "description": "What the task makes, for whom.",
                "owner": "you@example.com",
                "build": ".",
                "command": ["python", "main.py"],
                "produces": [f"tasks/{name}"],
                "s3_prefixes": [f"s3://{prefix}"],
            },
        )
        statement = {"Sid": "WriteItsOutputs", "Effect": "Allow", "Action": ["s3:PutObject"]}
        policy = {"Version": "2012-10-17", "Statement": [{**statement, "Resource": f"arn:aws:s3:::{prefix}*"}]}
        (folder / "iam_policy.json").write_text(json.dumps(policy, indent=2) + "\n")
        docstring = f'"""The {name} task: runs in its folder, with only the variables its defs.yaml declares."""'
        (folder / "main.py").write_text(f'{docstring}\n\nprint("{name}: done")\n')
        (folder / "Dockerfile").write_text(DOCKERFILE)


@dg.scaffold_with(TaskScaffolder)
class TaskSpec(dg.Model, dg.Resolvable):
    """A container task: its image and command, run on a schedule or from the UI, producing the asset keys it
    declares. Locally (TASKS_ENGINE=local) the command runs as a subprocess in a throw-away copy of the task's
    folder; in production its image runs on ECS with its own role."""

    name: str
    description: str
    owner: str
    image: str | None = None
    build: str | None = None  # a folder (relative to the YAML) holding the Dockerfile the image is built from
    command: list[str]
    pipes: bool = False  # the command reports through dagster-pipes (a Python task); a plain command does not
    env: dict[str, str] = {}
    secrets: dict[str, SecretRef] = {}
    produces: list[str]
    deps: list[str] = []
    schedule: str | None = None
    partitions: Literal["none", "daily"] = "none"
    partitions_start: str | None = None
    role_arn: str | None = None
    s3_prefixes: list[str] = []  # every S3 location its policy may name: s3://bucket/prefix/
    cpu: int = 256
    memory: int = 512

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME.match(value):
            raise ValueError("a lower-case identifier: letters, digits and _, starting with a letter")
        return value

    @field_validator("owner")
    @classmethod
    def _owner(cls, value: str) -> str:
        if not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", value) and not value.startswith("team:"):
            raise ValueError("an e-mail address or team:<name>")
        return value

    @field_validator("command", "produces")
    @classmethod
    def _not_empty(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one")
        return value

    @field_validator("env", mode="before")
    @classmethod
    def _env_text(cls, value):
        # A variable is text: Dagster renders a quoted "3" (or a template giving a number) as the number 3.
        if isinstance(value, dict):
            return {name: text if isinstance(text, str) else str(text) for name, text in value.items()}
        return value

    @field_validator("env", "secrets")
    @classmethod
    def _env_names(cls, value: dict) -> dict:
        for name in value:
            if not ENV_NAME.match(name) or name.startswith(RESERVED_ENV):
                raise ValueError(f"{name!r} is not a variable a task may set (upper case, not DAGSTER_*, PATH, HOME)")
        return value

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None:
            try:  # Dagster's own check of a schedule's cron string
                dg.ScheduleDefinition(name="cron_check", cron_schedule=value, job_name="cron_check")
            except dg.DagsterInvalidDefinitionError:
                raise ValueError(f"{value!r} is not a cron schedule") from None
        return value

    @field_validator("s3_prefixes")
    @classmethod
    def _prefixes(cls, value: list[str]) -> list[str]:
        for prefix in value:
            if not re.match(r"^s3://[a-z0-9.-]{3,63}/([^*?]+/)?$", prefix):
                raise ValueError(f"{prefix!r}: give s3://bucket/prefix/ (ending in /, no wildcard)")
        return value

    @model_validator(mode="after")
    def _consistent(self):
        if (self.image is None) == (self.build is None):
            raise ValueError("give exactly one of image or build")
        if self.partitions == "daily" and self.partitions_start is None:
            raise ValueError("daily partitions need partitions_start (YYYY-MM-DD)")
        if self.partitions == "daily" and self.schedule and not re.match(r"^\d{1,2} \d{1,2} \* \* \*$", self.schedule):
            raise ValueError("a daily task's schedule is a time of day: 'M H * * *'")
        if self.cpu not in (256, 512, 1024, 2048, 4096) or not 512 <= self.memory <= 30720:
            raise ValueError("cpu is one of Fargate's 256, 512, 1024, 2048, 4096; memory 512 to 30720 MiB")
        return self

    @property
    def keys(self) -> list[dg.AssetKey]:
        return [dg.AssetKey.from_user_string(key) for key in self.produces]
