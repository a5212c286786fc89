"""Container tasks: the shipped ones pass review, a broken one is reported with its file, line and reason while the
rest load, and a task runs for real as a subprocess with only its own environment (secrets from the process and
from SSM on moto), failing with its exit code and the tail of its output."""

import shutil
from pathlib import Path

import boto3
import dagster as dg
import pytest

from pipeline.lib.tasks.assets import task_definitions
from pipeline.lib.tasks.folder import task_folder_definitions
from pipeline.lib.tasks.review import check_tasks_command, load_task, review_all
from tests.platform import task_variables, tasks_settings

REPO = Path(__file__).resolve().parents[2]
TASKS = REPO / "pipeline" / "defs" / "tasks"

GOOD = """type: pipeline.lib.tasks.ContainerTask
attributes:
  name: {name}
  description: A test task.
  owner: tester@example.com
  image: busybox:1.36
  command: {command}
  pipes: true
  env:
    GREETING: hello
  secrets:
    OWN_TOKEN: {{env: TASK_TEST_TOKEN}}
    SSM_TOKEN: {{ssm: /tasks/test/token}}
  produces: ["tasks/{name}"]
  s3_prefixes: ["s3://task-bucket/{name}/"]
"""
POLICY = """{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "Write", "Effect": "Allow", "Action": ["s3:PutObject"], "Resource": "arn:aws:s3:::task-bucket/NAME/*"}
  ]
}
"""


def make_task(root: Path, name: str, command: str, policy: str = POLICY, yaml_text: str | None = None) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "defs.yaml").write_text(yaml_text or GOOD.format(name=name, command=command))
    (folder / "iam_policy.json").write_text(policy.replace("NAME", name))
    return folder


def test_the_shipped_tasks_pass_review(pipeline_env, capsys):
    assert check_tasks_command(TASKS, task_variables(), "task-") == 0
    assert "2 task(s), 0 broken" in capsys.readouterr().out
    assert review_all(TASKS, task_variables(), "task-") == {"lake_inventory": [], "top_songs": []}


@pytest.mark.parametrize(
    "edit, line, reason",
    [
        (lambda y: y.replace('  command: ["true"]\n', ""), 2, "command: Field required"),
        (
            lambda y: y.replace("image: busybox:1.36", "image: busybox:1.36\n  build: ."),
            2,
            "exactly one of image or build",
        ),
        (lambda y: y.replace("{env: TASK_TEST_TOKEN}", "{env: X, ssm: /y}"), 12, "exactly one of ssm"),
        (lambda y: y + "  schedule: every day\n", 16, "schedule: 'every day' is not a cron schedule"),
        (lambda y: y.replace("GREETING", "PATH"), 9, "'PATH' is not a variable a task may set"),
        (lambda y: y.replace("owner: tester@example.com", "owner: tester"), 5, "owner: an e-mail address"),
    ],
    ids=["missing field", "image and build", "secret from two places", "cron", "reserved variable", "owner"],
)
def test_a_broken_yaml_names_its_file_line_and_field(tmp_path, pipeline_env, edit, line, reason):
    folder = make_task(tmp_path, "probe", "", yaml_text=edit(GOOD.format(name="probe", command='["true"]')))
    task, problems = load_task(folder, task_variables())
    assert task is None
    assert [str(p) for p in problems if reason in str(p)] == [
        f"{folder / 'defs.yaml'}, line {line}: {problems[0].reason}"
    ]


@pytest.mark.parametrize(
    "statement, reason",
    [
        ('"Action": ["*"], "Resource": "arn:aws:s3:::task-bucket/probe/*"', "action '*': name each action"),
        ('"Action": ["s3:*"], "Resource": "arn:aws:s3:::task-bucket/probe/*"', "action 's3:*': name each action"),
        ('"Action": ["iam:PassRole"], "Resource": "arn:aws:iam::123456789012:role/x"', "a task may not use IAM"),
        ('"Action": ["s3:GetObject"], "Resource": "*"', "resource '*': name the resources"),
        (
            '"Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::task-bucket/other/*"',
            "outside the task's s3_prefixes",
        ),
        (
            '"Action": ["s3:ListBucket"], "Resource": "arn:aws:s3:::task-bucket"',
            "with a StringLike s3:prefix condition",
        ),
        ('"NotAction": ["s3:GetObject"], "Resource": "arn:aws:s3:::task-bucket/probe/*"', "NotAction is not allowed"),
    ],
    ids=["star", "service star", "iam", "any resource", "other prefix", "bucket listing", "not action"],
)
def test_a_policy_beyond_the_rules_names_its_file_line_and_reason(tmp_path, pipeline_env, statement, reason):
    policy = (
        '{\n  "Version": "2012-10-17",\n  "Statement": [\n    {"Sid": "Probe", "Effect": "Allow", '
        + statement
        + "}\n  ]\n}\n"
    )
    folder = make_task(tmp_path, "probe", '["true"]', policy=policy)
    task, problems = load_task(folder, task_variables())
    assert task is None and problems, problems
    assert any(reason in p.reason and p.path == folder / "iam_policy.json" and p.line == 4 for p in problems), problems


def test_a_broken_task_is_reported_and_the_others_load(tmp_path, pipeline_env):
    shutil.copytree(TASKS, tmp_path / "tasks")
    make_task(tmp_path / "tasks", "probe", '["true"]', policy='{"Version": "2012-10-17", "Statement": [')

    defs = task_folder_definitions(tmp_path / "tasks", tasks_settings(), task_variables())

    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"tasks/lake_inventory", "tasks/top_songs", "tasks/broken/probe"} <= keys
    assert "tasks/probe" not in keys
    spec = defs.resolve_assets_def(dg.AssetKey(["tasks", "broken", "probe"])).specs_by_key[
        dg.AssetKey(["tasks", "broken", "probe"])
    ]
    assert "iam_policy.json, line 1: not JSON" in spec.description
    assert check_tasks_command(tmp_path / "tasks", task_variables(), "task-") == 1


@pytest.fixture
def task_env(pipeline_env, s3_env, monkeypatch):
    """A secret in the process for the task (TASK_TEST_TOKEN), another that is not its own, and one in SSM (moto)."""
    monkeypatch.setenv("TASK_TEST_TOKEN", "own-secret")
    monkeypatch.setenv("OTHER_TASK_TOKEN", "someone-elses-secret")
    boto3.client("ssm").put_parameter(Name="/tasks/test/token", Value="from-ssm", Type="SecureString", Overwrite=True)


def run(folder: Path) -> dg.ExecuteInProcessResult:
    task, problems = load_task(folder, task_variables())
    assert not problems, problems
    defs = task_definitions(task, folder, tasks_settings())
    return dg.materialize(defs.assets, raise_on_error=False)


def test_a_task_runs_with_only_its_own_environment(tmp_path, task_env):
    out = tmp_path / "seen.txt"
    folder = make_task(tmp_path / "tasks", "probe", f'["sh", "-c", "env > {out}; echo done"]')

    result = run(folder)

    assert result.success
    seen = dict(line.split("=", 1) for line in out.read_text().splitlines() if "=" in line)
    assert (seen["GREETING"], seen["OWN_TOKEN"], seen["SSM_TOKEN"]) == ("hello", "own-secret", "from-ssm")
    assert "someone-elses-secret" not in out.read_text() and "OTHER_TASK_TOKEN" not in seen
    assert "DAGSTER_PIPES_CONTEXT" in seen and seen["HOME"] != str(Path.home())
    [event] = result.get_asset_materialization_events()
    assert event.materialization.metadata["exit_code"].value == 0


def test_a_failing_task_fails_with_its_exit_code_and_the_tail_of_its_output(tmp_path, task_env):
    script = "for i in $(seq 1 30); do echo line $i; done; echo broken pipe >&2; exit 3"
    folder = make_task(tmp_path / "tasks", "probe", f'["sh", "-c", "{script}"]')

    result = run(folder)

    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    message = failure.step_failure_data.user_failure_data.description
    assert message.startswith("task probe exited with code 3; the last lines of its output:\n")
    assert message.endswith("line 30\nbroken pipe") and "line 12\n" in message and "line 11\n" not in message


def test_the_review_lints_a_tasks_dockerfile_with_hadolint(tmp_path, pipeline_env, capsys):
    yaml_text = GOOD.format(name="probe", command='["true"]').replace("image: busybox:1.36", "build: .")
    folder = make_task(tmp_path, "probe", "", yaml_text=yaml_text)
    (folder / "Dockerfile").write_text("FROM python:latest\nRUN pip install duckdb\n")

    assert check_tasks_command(tmp_path, task_variables(), "task-") == 1

    out = capsys.readouterr().out
    assert f"{folder / 'Dockerfile'}, line 1: DL3007" in out  # an image pinned to latest
    assert f"{folder / 'Dockerfile'}, line 2: DL3013" in out  # pip without pinned versions
    assert load_task(folder, task_variables())[1] == []  # the code location loads it: linting is the review's


def test_the_review_refuses_a_secret_that_runs_locally_only(tmp_path, pipeline_env, capsys):
    folder = make_task(tmp_path, "probe", '["true"]')
    assert load_task(folder, task_variables())[1] == []  # the code location loads it: a try on a laptop

    assert check_tasks_command(tmp_path, task_variables(), "task-") == 1

    expected = (
        f"{folder / 'defs.yaml'}, line 12: secrets.OWN_TOKEN: {{env: TASK_TEST_TOKEN}} runs locally only; "
        "in production a secret is an SSM parameter: {ssm: /tasks/probe/own_token}"
    )
    out = capsys.readouterr().out
    assert expected in out and "SSM_TOKEN" not in out


def test_a_daily_task_runs_one_partition_and_knows_which(tmp_path, task_env):
    out = tmp_path / "day.txt"
    yaml_text = GOOD.format(name="probe", command=f'["sh", "-c", "echo $DAGSTER_PARTITION_KEY > {out}"]')
    yaml_text += '  partitions: daily\n  partitions_start: "2024-01-01"\n  schedule: "15 2 * * *"\n'
    folder = make_task(tmp_path / "tasks", "probe", "", yaml_text=yaml_text)
    task, problems = load_task(folder, task_variables())
    assert not problems, problems
    defs = task_definitions(task, folder, tasks_settings())

    result = dg.materialize(defs.assets, partition_key="2024-03-05")

    assert result.success and out.read_text().strip() == "2024-03-05"
    [schedule] = defs.schedules
    assert schedule.cron_schedule == "15 2 * * *" and schedule.default_status == dg.DefaultScheduleStatus.STOPPED
