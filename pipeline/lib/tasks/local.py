"""How a container task runs locally (TASKS_ENGINE=local, the default): its command as a subprocess in a
throw-away copy of its folder, through a Dagster Pipes session when the task reports with dagster-pipes
(`pipes: true`).

Its environment is only what it declares (values, its own secrets resolved now), a PATH whose `python` is the
platform's, and the Pipes variables: never the Dagster process's own variables, so a task never sees another
task's secrets. A task that exits non-zero fails its assets with the exit code and the tail of its output.
"""

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path

import boto3
import dagster as dg

from pipeline.lib.tasks.outcome import TAIL_LINES, task_results
from pipeline.lib.tasks.spec import TaskSpec


def secret_values(task: TaskSpec) -> dict[str, str]:
    """The task's secrets, resolved for this run only: SSM parameters (decrypted) and the process's variables."""
    values = {}
    for name, ref in task.secrets.items():
        if ref.env is not None:
            if ref.env not in os.environ:
                raise dg.Failure(
                    f"task {task.name}: secret {name} names {ref.env}, which is not set", allow_retries=False
                )
            values[name] = os.environ[ref.env]
        else:
            answer = boto3.client("ssm").get_parameter(Name=ref.ssm, WithDecryption=True)
            values[name] = answer["Parameter"]["Value"]
    return values


def run_locally(task: TaskSpec, folder: Path, context: dg.AssetExecutionContext) -> Iterator[dg.MaterializeResult]:
    with tempfile.TemporaryDirectory(prefix=f"task-{task.name}-") as scratch, contextlib.ExitStack() as stack:
        shutil.copytree(folder, scratch, dirs_exist_ok=True)
        # A Pipes session only for a task that speaks Pipes: a plain command would leave Dagster waiting for
        # messages that never come (and warning about it).
        session = (
            stack.enter_context(
                dg.open_pipes_session(
                    context=context,
                    context_injector=dg.PipesTempFileContextInjector(),
                    message_reader=dg.PipesTempFileMessageReader(),
                    extras={"task": task.name},
                )
            )
            if task.pipes
            else None
        )
        variables = {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": scratch,
            "LANG": "C.UTF-8",
            **task.env,
            **secret_values(task),
            **(session.get_bootstrap_env_vars() if session else {}),
        }
        if context.has_partition_key:
            variables["DAGSTER_PARTITION_KEY"] = context.partition_key
        began, tail = time.monotonic(), deque(maxlen=TAIL_LINES)
        try:
            process = subprocess.Popen(
                task.command, cwd=scratch, env=variables, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
        except OSError as exc:
            raise dg.Failure(f"task {task.name}: cannot start {task.command[0]!r}: {exc}", allow_retries=False) from exc
        for line in process.stdout:
            sys.stdout.write(line)  # the step's captured output: the run's logs in the UI
            tail.append(line.rstrip("\n"))
        code = process.wait()
        seconds = round(time.monotonic() - began, 2)
    if code != 0:
        shown = "\n".join(tail) or "(no output)"
        raise dg.Failure(
            f"task {task.name} exited with code {code}; the last lines of its output:\n{shown}",
            metadata={"exit_code": code, "seconds": seconds},
            allow_retries=False,
        )
    reported = session.get_results() if session else []
    yield from task_results(task, reported, {"exit_code": code, "seconds": seconds})
