"""Container tasks on ECS (TASKS_ENGINE=ecs) against moto's ECS, CloudWatch Logs, SSM and STS on loopback: the task's
definition is registered from its YAML (image, size, its own role, SSM secrets, awslogs), run on Fargate in the
configured subnets, and what the container reports through dagster-pipes in its log lands on the materialization.

moto records a task but runs nothing, so the test plays the ECS agent: when RunTask returns, a thread takes the
container's definition and overrides back from moto, resolves its SSM secrets as ECS does, runs its command in a
copy of the task's folder (the image's files), writes its output to the container's CloudWatch stream as awslogs
would, and stops the task with the container's exit code (moto has no exit codes: DescribeTasks is given them).
Not verified here: IAM (the task and execution roles are only named), image pulls, Fargate's networking.
"""

import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import boto3
import dagster as dg
import pytest

from pipeline.lib.tasks.assets import task_definitions
from pipeline.lib.tasks.review import load_task
from tests.platform import task_variables, tasks_settings

REPO = Path(__file__).resolve().parents[2]
TASKS = REPO / "pipeline" / "defs" / "tasks"

TASK = """type: pipeline.lib.tasks.ContainerTask
attributes:
  name: probe
  description: A test task.
  owner: tester@example.com
  image: registry.example.com/probe:1
  command: ["python", "probe.py"]
  pipes: true
  env:
    GREETING: hello
  secrets:
    TOKEN: {ssm: /tasks/probe/token}
  produces: ["tasks/probe"]
  s3_prefixes: ["s3://task-bucket/probe/"]
  cpu: 512
  memory: 1024
"""
PROBE = """import os, sys
from dagster_pipes import open_dagster_pipes
with open_dagster_pipes() as pipes:
    seen = {name: os.environ.get(name) for name in ("GREETING", "TOKEN", "DAGSTER_PARTITION_KEY")}
    print("probe sees", sorted(k for k, v in seen.items() if v))
    for i in range(1, 31):
        print("line", i)
    if os.environ.get("EXIT_CODE"):
        print("broken pipe", file=sys.stderr)
        sys.exit(int(os.environ["EXIT_CODE"]))
    pipes.report_asset_materialization(metadata={"greeting": seen["GREETING"], "token": seen["TOKEN"]})
"""
POLICY = """{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": "arn:aws:s3:::task-bucket/probe/*"}]}
"""


class Agent:
    """Plays the ECS agent for the tasks moto starts: runs each container's command and logs it to CloudWatch."""

    def __init__(self, folders: dict[str, Path], scratch: Path):
        self.folders, self.scratch = folders, scratch  # an image's files: a task folder
        self.exit_codes: dict[str, int] = {}
        self.not_started: dict[str, str] = {}  # task ARN: why (an image it does not know cannot be pulled)
        self.environments: list[dict] = []
        self.threads: list[threading.Thread] = []
        self.aws = boto3.session.Session()  # its own session: the run's hooks are not the agent's

    def started(self, parsed, **_):
        for task in parsed["tasks"]:
            thread = threading.Thread(target=self.run, args=(task["taskArn"], task["clusterArn"]))
            thread.start()
            self.threads.append(thread)

    def run(self, task_arn: str, cluster: str):
        ecs = self.aws.client("ecs")
        [task] = ecs.describe_tasks(cluster=cluster, tasks=[task_arn])["tasks"]
        definition = ecs.describe_task_definition(taskDefinition=task["taskDefinitionArn"])["taskDefinition"]
        [container] = definition["containerDefinitions"]
        if container["image"] not in self.folders:
            self.not_started[task_arn] = f"CannotPullContainerError: {container['image']}: not found"
            ecs.stop_task(cluster=cluster, task=task_arn, reason=self.not_started[task_arn])
            return
        overrides = {o["name"]: o for o in task.get("overrides", {}).get("containerOverrides", [])}
        variables = {e["name"]: e["value"] for e in container.get("environment", [])}
        for secret in container.get("secrets", []):  # ECS resolves them with the execution role, for this container
            parameter = self.aws.client("ssm").get_parameter(Name=secret["valueFrom"], WithDecryption=True)
            variables[secret["name"]] = parameter["Parameter"]["Value"]
        variables.update({e["name"]: e["value"] for e in overrides.get(container["name"], {}).get("environment", [])})
        self.environments.append(variables)
        workdir = self.scratch / task_arn.split("/")[-1]
        shutil.copytree(self.folders[container["image"]], workdir)
        finished = subprocess.run(
            container["command"],
            cwd=workdir,
            env={**variables, "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(workdir)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        options = container["logConfiguration"]["options"]
        stream = f"{options['awslogs-stream-prefix']}/{container['name']}/{task_arn.split('/')[-1]}"
        logs = self.aws.client("logs")
        logs.create_log_stream(logGroupName=options["awslogs-group"], logStreamName=stream)
        now = int(time.time() * 1000)
        lines = (finished.stdout + finished.stderr).splitlines()
        events = [{"timestamp": now, "message": line} for line in lines if line]
        if events:
            logs.put_log_events(logGroupName=options["awslogs-group"], logStreamName=stream, logEvents=events)
        self.exit_codes[task_arn] = finished.returncode
        ecs.stop_task(cluster=cluster, task=task_arn, reason="Essential container in task exited")

    def described(self, parsed, **_):
        for task in parsed.get("tasks", []):
            if task["taskArn"] in self.not_started and task["lastStatus"] == "STOPPED":
                task.update(stopCode="TaskFailedToStart", stoppedReason=self.not_started[task["taskArn"]])
                for container in task["containers"]:
                    container.pop("exitCode", None)
            if task["taskArn"] in self.exit_codes and task["lastStatus"] == "STOPPED":
                for container in task["containers"]:
                    container["exitCode"] = self.exit_codes[task["taskArn"]]
                    container["runtimeId"] = f"{task['taskArn'].split('/')[-1]}-{container['name']}"

    def join(self):
        for thread in self.threads:
            thread.join(timeout=120)


@pytest.fixture
def ecs_world(pipeline_env, s3_env, tmp_path, monkeypatch):
    """A cluster in a VPC, the tasks' log group and a secret in SSM; the engine set to ECS; the agent playing it.
    The moto server lives for the session: the cluster and log group are this test's own."""
    cluster, log_group = f"tasks-{tmp_path.name}", f"/dagster/tasks/{tmp_path.name}"
    ec2 = boto3.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})  # moto's task ENI needs it
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="tasks", Description="tasks", VpcId=vpc)["GroupId"]
    boto3.client("ecs").create_cluster(clusterName=cluster)
    boto3.client("logs").create_log_group(logGroupName=log_group)
    boto3.client("ssm").put_parameter(Name="/tasks/probe/token", Value="from-ssm", Type="SecureString", Overwrite=True)
    settings = {
        "TASKS_ENGINE": "ecs",
        "TASKS_ECS_CLUSTER": cluster,
        "TASKS_ECS_SUBNETS": subnet,
        "TASKS_ECS_SECURITY_GROUPS": group,
        "TASKS_ECS_EXECUTION_ROLE_ARN": "arn:aws:iam::123456789012:role/tasks-execution",
        "TASKS_ECS_LOG_GROUP": log_group,
        "TASKS_ECS_POLL_SECONDS": "1",
        "TASKS_IMAGE_REPOSITORY": "123456789012.dkr.ecr.us-east-1.amazonaws.com/tasks",
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    probe = tmp_path / "tasks" / "probe"
    probe.mkdir(parents=True)
    (probe / "defs.yaml").write_text(TASK)
    (probe / "probe.py").write_text(PROBE)
    (probe / "iam_policy.json").write_text(POLICY)
    agent = Agent(
        {
            "registry.example.com/probe:1": probe,
            f"{settings['TASKS_IMAGE_REPOSITORY']}:lake_inventory": TASKS / "lake_inventory",
        },
        tmp_path / "containers",
    )
    session = boto3.session.Session()
    session.events.register("after-call.ecs.RunTask", agent.started)
    session.events.register("after-call.ecs.DescribeTasks", agent.described)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", session)
    yield {"probe": probe, "agent": agent, "subnet": subnet, "group": group, "settings": settings}
    agent.join()


def materialize(folder: Path, yaml_edit=None, **kwargs) -> dg.ExecuteInProcessResult:
    if yaml_edit:
        (folder / "defs.yaml").write_text(yaml_edit((folder / "defs.yaml").read_text()))
    task, problems = load_task(folder, task_variables())
    assert not problems, problems
    return dg.materialize(task_definitions(task, folder, tasks_settings()).assets, raise_on_error=False, **kwargs)


def failure_of(result: dg.ExecuteInProcessResult) -> str:
    [failure] = [e for e in result.all_events if e.is_step_failure]
    return failure.step_failure_data.user_failure_data.description


def test_a_pipes_task_runs_on_fargate_with_its_definition_role_and_secret(ecs_world, capsys):
    settings = ecs_world["settings"]
    reads = []
    boto3.DEFAULT_SESSION.events.register("after-call.logs.GetLogEvents", lambda **_: reads.append(1))

    result = materialize(ecs_world["probe"])

    assert result.success, [str(e) for e in result.all_events if e.is_failure]
    [event] = result.get_asset_materialization_events()
    metadata = {name: value.value for name, value in event.materialization.metadata.items()}
    # reported by the container through its CloudWatch log
    assert (metadata["greeting"], metadata["token"], metadata["exit_code"]) == ("hello", "from-ssm", 0)
    assert "AWS ECS Task URL" in metadata
    ecs = boto3.client("ecs")
    definition = ecs.describe_task_definition(taskDefinition="dagster-task-probe")["taskDefinition"]
    [container] = definition["containerDefinitions"]
    assert (definition["cpu"], definition["memory"], definition["networkMode"]) == ("512", "1024", "awsvpc")
    assert definition["taskRoleArn"] == "arn:aws:iam::123456789012:role/task-probe"  # from its reviewed policy
    assert definition["executionRoleArn"] == "arn:aws:iam::123456789012:role/tasks-execution"
    assert container["image"] == "registry.example.com/probe:1" and container["command"] == ["python", "probe.py"]
    assert container["secrets"] == [{"name": "TOKEN", "valueFrom": "/tasks/probe/token"}]  # a reference, no value
    assert container["environment"] == [{"name": "GREETING", "value": "hello"}]
    assert container["logConfiguration"]["options"]["awslogs-group"] == settings["TASKS_ECS_LOG_GROUP"]
    [arn] = ecs.list_tasks(cluster=settings["TASKS_ECS_CLUSTER"], desiredStatus="STOPPED")["taskArns"]
    [task] = ecs.describe_tasks(cluster=settings["TASKS_ECS_CLUSTER"], tasks=[arn], include=["TAGS"])["tasks"]
    assert task["launchType"] == "FARGATE" and {"key": "dagster/task", "value": "probe"} in task["tags"]
    assert re.fullmatch(r"[A-Za-z0-9_/-]{1,36}", task["startedBy"])  # what ECS accepts
    [attachment] = task["attachments"]
    assert {"name": "subnetId", "value": ecs_world["subnet"]} in attachment["details"]
    [environment] = ecs_world["agent"].environments
    assert "DAGSTER_PIPES_CONTEXT" in environment and "TOKEN" not in str(task.get("overrides"))
    # The container's log, without the Pipes messages, is the step's output; its reader has ended with the run.
    output = capsys.readouterr().out
    assert "probe sees ['GREETING', 'TOKEN']\nline 1\n" in output and "line 30\n" in output
    assert "__dagster_pipes_version" not in output
    reads_at_the_end = len(reads)
    time.sleep(3)  # dagster-aws's own log reader would go on calling GetLogEvents for ever (cloudwatch.py)
    assert len(reads) == reads_at_the_end > 0


def test_a_task_definition_is_registered_again_only_when_the_task_changed(ecs_world):
    ecs = boto3.client("ecs")

    def revisions() -> list[str]:  # the moto server lives for the session: other tests registered some
        return ecs.list_task_definitions(familyPrefix="dagster-task-probe")["taskDefinitionArns"]

    before = revisions()
    assert materialize(ecs_world["probe"]).success
    assert materialize(ecs_world["probe"]).success
    [first] = [arn for arn in revisions() if arn not in before]

    assert materialize(ecs_world["probe"], lambda y: y.replace("memory: 1024", "memory: 2048")).success

    [second] = [arn for arn in revisions() if arn not in before + [first]]
    latest = ecs.describe_task_definition(taskDefinition="dagster-task-probe")["taskDefinition"]
    assert (latest["taskDefinitionArn"], latest["memory"]) == (second, "2048")


def test_a_failing_container_fails_with_its_exit_code_and_the_tail_of_its_log(ecs_world):
    result = materialize(
        ecs_world["probe"], lambda y: y.replace("GREETING: hello", "GREETING: hello\n    EXIT_CODE: '3'")
    )

    assert not result.success
    message = failure_of(result)
    assert message.startswith("task probe exited with code 3 on ECS (Essential container in task exited); ")
    assert message.endswith("line 29\nline 30\nbroken pipe")
    assert "line 12\n" in message and "line 11\n" not in message and "__dagster_pipes_version" not in message


def test_a_task_whose_image_cannot_be_pulled_fails_with_the_reason_ecs_gives(ecs_world):
    result = materialize(ecs_world["probe"], lambda y: y.replace("probe:1", "probe:missing"))

    assert not result.success and ecs_world["agent"].environments == []  # no container ran
    assert failure_of(result) == (
        "task probe did not start on ECS: CannotPullContainerError: registry.example.com/probe:missing: not found"
    )


def test_a_daily_task_on_ecs_is_given_its_partition(ecs_world):
    edit = lambda y: y + '  partitions: daily\n  partitions_start: "2024-01-01"\n'  # noqa: E731

    result = materialize(ecs_world["probe"], edit, partition_key="2024-03-05")

    assert result.success
    [environment] = ecs_world["agent"].environments
    assert environment["DAGSTER_PARTITION_KEY"] == "2024-03-05"


def test_a_secret_from_the_dagster_process_is_refused_on_ecs(ecs_world, monkeypatch):
    monkeypatch.setenv("PROBE_TOKEN", "would-be-in-clear")

    result = materialize(ecs_world["probe"], lambda y: y.replace("{ssm: /tasks/probe/token}", "{env: PROBE_TOKEN}"))

    assert not result.success
    assert "on ECS a secret is an SSM parameter ({ssm: /name}); TOKEN would be written" in failure_of(result)
    assert ecs_world["agent"].environments == []  # no task ran
    assert boto3.client("ecs").list_tasks(cluster=ecs_world["settings"]["TASKS_ECS_CLUSTER"])["taskArns"] == []


def test_the_shipped_inventory_task_runs_from_its_image_on_ecs(ecs_world, sample_lake, tmp_path, monkeypatch):
    monkeypatch.setenv("TASKS_DATA_URI", str(tmp_path / "out"))
    folder = TASKS / "lake_inventory"

    result = materialize(folder)

    assert result.success, [str(e) for e in result.all_events if e.is_failure]
    container = boto3.client("ecs").describe_task_definition(taskDefinition="dagster-task-lake_inventory")[
        "taskDefinition"
    ]["containerDefinitions"][0]
    assert container["image"] == f"{ecs_world['settings']['TASKS_IMAGE_REPOSITORY']}:lake_inventory"
    listed = (tmp_path / "out" / "lake_inventory" / "lake_inventory.txt").read_text().split()
    assert len(listed) == len(list((sample_lake.root / "log_data").rglob("*.json"))) > 0

    monkeypatch.delenv("TASKS_IMAGE_REPOSITORY")
    result = materialize(folder)
    assert "set TASKS_IMAGE_REPOSITORY to the repository its image is pushed to" in failure_of(result)
