"""How a container task runs on ECS Fargate (TASKS_ENGINE=ecs), through dagster-aws's PipesECSClient.

Each task has its own task definition family (`dagster-task-<name>`), made from its YAML: the image (or
TASKS_IMAGE_REPOSITORY:<name> for a task built from its Dockerfile), CPU and memory, the task's own role (its
`role_arn`, or TASKS_ROLE_PREFIX<name> in this account: the role made from its reviewed iam_policy.json), and the
execution role with which ECS pulls the image, reads the SSM secrets and writes the logs. A revision is
registered only when the definition changed (its hash is a tag of the revision), so a daily task does not pile up
revisions.

Secrets are ECS's own (`valueFrom` the SSM parameter): ECS puts them into that container alone and Dagster never
holds them. A secret from the Dagster process's variables (`{env: NAME}`) would have to be written into the task
definition in clear, so it is refused here.

A run is one Fargate task in the cluster, subnets and security groups of the settings. Its output comes into the
run's log from CloudWatch (cloudwatch.py); what it reports through dagster-pipes (its stdout, in the same log)
lands on the materialization. A container that exits non-zero fails the assets with its exit code, ECS's reason
and the tail of its log; one that never started, with ECS's reason.
"""

import hashlib
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import dagster as dg
from dagster_aws.pipes import PipesECSClient

from pipeline.lib.tasks.cloudwatch import PIPES_MARK, CloudWatchMessageReader
from pipeline.lib.tasks.outcome import TAIL_LINES, task_results
from pipeline.lib.tasks.settings import TasksSettings
from pipeline.lib.tasks.spec import TaskSpec

FAMILY_PREFIX = "dagster-task-"
CONTAINER = "task"
STREAM_PREFIX = "tasks"  # awslogs names a container's stream <prefix>/<container>/<task id>
HASH_TAG = "dagster/definition-hash"


def _required(settings: TasksSettings, field: str) -> str:
    value = getattr(settings, field)
    if not value:
        variable = TasksSettings.model_fields[field].validation_alias
        raise dg.Failure(f"TASKS_ENGINE=ecs needs {variable} (docs/tasks.md)", allow_retries=False)
    return value


def _ids(settings: TasksSettings, field: str) -> list[str]:
    return [part.strip() for part in _required(settings, field).split(",") if part.strip()]


def task_image(task: TaskSpec, settings: TasksSettings) -> str:
    if task.image:
        return task.image
    if not settings.image_repository:
        raise dg.Failure(
            f"task {task.name} is built from its Dockerfile: set TASKS_IMAGE_REPOSITORY to the repository its image "
            f"is pushed to, as <repository>:{task.name} (docs/tasks.md)",
            allow_retries=False,
        )
    return f"{settings.image_repository}:{task.name}"


def task_role_arn(task: TaskSpec, settings: TasksSettings) -> str:
    """The task's own role: its role_arn, or the one the deploy made from its iam_policy.json."""
    if task.role_arn:
        return task.role_arn
    account = boto3.client("sts").get_caller_identity()["Account"]
    return f"arn:aws:iam::{account}:role/{settings.role_prefix}{task.name}"


def task_definition(task: TaskSpec, region: str, settings: TasksSettings) -> dict:
    """The register_task_definition request for the task."""
    from_process = sorted(name for name, ref in task.secrets.items() if ref.env is not None)
    if from_process:
        raise dg.Failure(
            f"task {task.name}: on ECS a secret is an SSM parameter ({{ssm: /name}}); "
            f"{', '.join(from_process)} would be written into the task definition in clear",
            allow_retries=False,
        )
    container = {
        "name": CONTAINER,
        "image": task_image(task, settings),
        "command": task.command,
        "essential": True,
        "memory": task.memory,  # the container's hard limit: all of the task's memory
        "environment": [{"name": name, "value": value} for name, value in sorted(task.env.items())],
        "secrets": [{"name": name, "valueFrom": ref.ssm} for name, ref in sorted(task.secrets.items())],
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": settings.ecs_log_group,
                "awslogs-region": region,
                "awslogs-stream-prefix": STREAM_PREFIX,
            },
        },
    }
    return {
        "family": FAMILY_PREFIX + task.name,
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": str(task.cpu),
        "memory": str(task.memory),
        "taskRoleArn": task_role_arn(task, settings),
        "executionRoleArn": _required(settings, "ecs_execution_role_arn"),
        "containerDefinitions": [container],
    }


def registered_definition(ecs, task: TaskSpec, settings: TasksSettings) -> str:
    """The ARN of the task's current definition: the latest revision when it is the one wanted, else a new one."""
    wanted = task_definition(task, ecs.meta.region_name, settings)
    digest = hashlib.sha256(json.dumps(wanted, sort_keys=True).encode()).hexdigest()[:32]
    try:
        current = ecs.describe_task_definition(taskDefinition=wanted["family"], include=["TAGS"])
    except ecs.exceptions.ClientException:  # the family has no revision yet
        current = None
    if current and {"key": HASH_TAG, "value": digest} in current.get("tags", []):
        return current["taskDefinition"]["taskDefinitionArn"]
    registered = ecs.register_task_definition(**wanted, tags=[{"key": HASH_TAG, "value": digest}])
    return registered["taskDefinition"]["taskDefinitionArn"]


def run_task_params(
    task: TaskSpec, definition: str, started_by: str, partition_key: str | None, settings: TasksSettings
) -> dict:
    params = {
        "cluster": _required(settings, "ecs_cluster"),
        "taskDefinition": definition,
        "launchType": "FARGATE",
        "count": 1,
        "startedBy": started_by,
        "networkConfiguration": {
            "awsvpcConfiguration": {
                "subnets": _ids(settings, "ecs_subnets"),
                "securityGroups": _ids(settings, "ecs_security_groups"),
                "assignPublicIp": settings.ecs_assign_public_ip,
            }
        },
        "tags": [{"key": "dagster/task", "value": task.name}],
    }
    if partition_key is not None:
        environment = [{"name": "DAGSTER_PARTITION_KEY", "value": partition_key}]
        params["overrides"] = {"containerOverrides": [{"name": CONTAINER, "environment": environment}]}
    return params


def run_on_ecs(
    task: TaskSpec, folder: Path, context: dg.AssetExecutionContext, settings: TasksSettings
) -> Iterator[dg.MaterializeResult]:
    ecs, logs = boto3.client("ecs"), boto3.client("logs")
    # startedBy finds the task again when dagster-aws reports a failure without it: one launch's own token, as
    # ECS takes it (at most 36 letters, digits, - and _). The run and the task are on the task's tags.
    started_by = f"dagster-{uuid.uuid4().hex[:28]}"
    partition_key = context.partition_key if context.has_partition_key else None
    params = run_task_params(task, registered_definition(ecs, task, settings), started_by, partition_key, settings)
    client = PipesECSClient(client=ecs, message_reader=CloudWatchMessageReader(client=logs))
    poll = {"Delay": settings.ecs_poll_seconds, "MaxAttempts": 1_000_000}
    began = time.monotonic()
    try:
        invocation = client.run(context=context, run_task_params=params, extras={"task": task.name}, waiter_config=poll)
    except RuntimeError as exc:  # dagster-aws's: the task did not start, or its container exited non-zero
        raise stopped_task_failure(ecs, logs, task, params["cluster"], started_by, settings) from exc
    seconds = round(time.monotonic() - began, 2)
    yield from task_results(task, invocation.get_results(), {**invocation.metadata, "exit_code": 0, "seconds": seconds})


def stopped_task_failure(
    ecs, logs, task: TaskSpec, cluster: str, started_by: str, settings: TasksSettings
) -> dg.Failure:
    """Why the task's run failed, as ECS and its log tell."""
    arns = ecs.list_tasks(cluster=cluster, startedBy=started_by, desiredStatus="STOPPED")["taskArns"]
    if not arns:
        return dg.Failure(f"task {task.name}: ECS has no stopped task started by {started_by}", allow_retries=False)
    [stopped] = ecs.describe_tasks(cluster=cluster, tasks=arns[-1:])["tasks"]
    reason = stopped.get("stoppedReason", "no reason given")
    if stopped.get("stopCode") == "TaskFailedToStart":
        return dg.Failure(f"task {task.name} did not start on ECS: {reason}", allow_retries=False)
    code = next((c.get("exitCode") for c in stopped["containers"] if c["name"] == CONTAINER), None)
    tail = "\n".join(log_tail(logs, stopped["taskArn"].split("/")[-1], settings.ecs_log_group)) or "(no output)"
    return dg.Failure(
        f"task {task.name} exited with code {code} on ECS ({reason}); the last lines of its log:\n{tail}",
        metadata={"exit_code": code, "ecs_task": stopped["taskArn"]},
        allow_retries=False,
    )


def log_tail(logs, task_id: str, log_group: str) -> list[str]:
    """The last lines the container wrote, without dagster-pipes' messages."""
    try:
        events = logs.get_log_events(
            logGroupName=log_group,
            logStreamName=f"{STREAM_PREFIX}/{CONTAINER}/{task_id}",
            limit=TAIL_LINES * 5,
            startFromHead=False,
        )["events"]
    except logs.exceptions.ResourceNotFoundException:
        return []
    lines = [line for event in events for line in event["message"].splitlines() if PIPES_MARK not in line]
    return lines[-TAIL_LINES:]
