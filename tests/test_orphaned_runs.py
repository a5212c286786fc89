"""`python -m pipeline fail-orphaned-runs`: at a code server's start, the STARTED runs of its location are
failed as UNEXPECTED_TERMINATION (which run retries re-execute); nothing else is touched.

Against a real instance on disk (sqlite storage; the production path over Postgres runs in
tests/deploy_smoke/test_nightly_stop.py's power-loss case).
"""

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

# Private: a run's origin (which code location it came from) is what the command selects on.
from dagster._core.remote_origin import (
    GrpcServerCodeLocationOrigin,
    RemoteJobOrigin,
    RemoteRepositoryOrigin,
)
from dagster._daemon.auto_run_reexecution.auto_run_reexecution import should_retry

from pipeline.lib.orphaned_runs import fail_orphaned_runs

REPO = Path(__file__).resolve().parents[1]
INSTANCE_CONFIG = """\
telemetry:
  enabled: false
run_retries:
  enabled: true
  max_retries: 2
  retry_on_asset_or_op_failure: false
"""


def _add_run(instance: dg.DagsterInstance, location: str, status: dg.DagsterRunStatus) -> str:
    origin = RemoteJobOrigin(
        repository_origin=RemoteRepositoryOrigin(
            code_location_origin=GrpcServerCodeLocationOrigin(host="127.0.0.1", port=4000, location_name=location),
            repository_name="__repository__",
        ),
        job_name="sparkify_daily",
    )
    run = dg.DagsterRun(job_name="sparkify_daily", status=status, remote_job_origin=origin)
    instance.add_run(run)
    return run.run_id


@pytest.fixture
def dagster_home(tmp_path):
    (tmp_path / "dagster.yaml").write_text(INSTANCE_CONFIG)
    return tmp_path


@pytest.fixture
def instance(dagster_home):
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        yield instance


def test_started_runs_of_the_location_are_failed_for_run_retries(instance):
    orphan = _add_run(instance, "sparkify", dg.DagsterRunStatus.STARTED)
    other_location = _add_run(instance, "nyc_taxi", dg.DagsterRunStatus.STARTED)
    starting = _add_run(instance, "sparkify", dg.DagsterRunStatus.STARTING)
    queued = _add_run(instance, "sparkify", dg.DagsterRunStatus.QUEUED)
    finished = _add_run(instance, "sparkify", dg.DagsterRunStatus.SUCCESS)

    assert fail_orphaned_runs(instance, "sparkify") == [orphan]

    statuses = {
        run_id: instance.get_run_by_id(run_id).status for run_id in (orphan, other_location, starting, queued, finished)
    }
    assert statuses == {
        orphan: dg.DagsterRunStatus.FAILURE,
        other_location: dg.DagsterRunStatus.STARTED,
        starting: dg.DagsterRunStatus.STARTING,
        queued: dg.DagsterRunStatus.QUEUED,
        finished: dg.DagsterRunStatus.SUCCESS,
    }
    failed = instance.get_run_by_id(orphan)
    assert failed.tags["dagster/failure_reason"] == "UNEXPECTED_TERMINATION"
    assert should_retry(failed, instance), "run retries (retry_on_asset_or_op_failure: false) must take it"
    # A second start finds nothing left to fail.
    assert fail_orphaned_runs(instance, "sparkify") == []


def test_the_command_reads_the_instance_from_dagster_home(dagster_home, instance):
    orphan = _add_run(instance, "sparkify", dg.DagsterRunStatus.STARTED)
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home)}
    command = [sys.executable, "-m", "pipeline", "fail-orphaned-runs", "--location", "sparkify"]

    first = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=True)
    second = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=True)

    assert first.stdout.strip() == f"failed 1 orphaned run(s) of location sparkify: {orphan}"
    assert second.stdout.strip() == "no orphaned runs of location sparkify"
    assert instance.get_run_by_id(orphan).status == dg.DagsterRunStatus.FAILURE
