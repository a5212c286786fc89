"""`dg scaffold defs pipeline.lib.tasks.ContainerTask tasks/<name>`, as an analyst starts a task, in a copy of the
project: `dg list components` offers the component, the new folder passes review next to the shipped tasks and
its task runs as scaffolded."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg

from pipeline.lib.tasks.assets import task_definitions
from pipeline.lib.tasks.review import load_task
from tests.platform import task_variables, tasks_settings

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def test_a_scaffolded_task_passes_review_and_runs(tmp_path, pipeline_env):
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(REPO / "pyproject.toml", project)
    shutil.copytree(REPO / "pipeline", project / "pipeline", ignore=shutil.ignore_patterns("__pycache__"))
    # The copy's own package first, so nothing is written into the repository's.
    variables = {**os.environ, "PYTHONPATH": str(project), "VIRTUAL_ENV": str(BIN.parent)}
    variables["PATH"] = f"{BIN}{os.pathsep}{os.environ['PATH']}"

    def run_dg(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(BIN / "dg"), *args], cwd=project, env=variables, capture_output=True, text=True, timeout=300
        )

    listed = run_dg("list", "components", "--json")
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert "pipeline.lib.tasks.ContainerTask" in [item["key"] for item in json.loads(listed.stdout)["items"]]

    scaffold = run_dg("scaffold", "defs", "pipeline.lib.tasks.ContainerTask", "tasks/weekly_digest")

    assert scaffold.returncode == 0, scaffold.stdout[-2000:] + scaffold.stderr[-2000:]
    folder = project / "pipeline" / "defs" / "tasks" / "weekly_digest"
    assert sorted(p.name for p in folder.iterdir()) == ["Dockerfile", "defs.yaml", "iam_policy.json", "main.py"]
    assert not (REPO / "pipeline" / "defs" / "tasks" / "weekly_digest").exists()
    review = subprocess.run(
        [sys.executable, "-m", "pipeline", "check-tasks"], cwd=project, env=variables, capture_output=True, text=True
    )
    assert review.returncode == 0, review.stdout + review.stderr
    assert "weekly_digest: ok" in review.stdout and "3 task(s), 0 broken" in review.stdout
    task, problems = load_task(folder, task_variables())
    assert not problems and task.keys == [dg.AssetKey(["tasks", "weekly_digest"])] and task.build == "."
    result = dg.materialize(task_definitions(task, folder, tasks_settings()).assets)
    [event] = result.get_asset_materialization_events()
    assert event.materialization.metadata["exit_code"].value == 0
