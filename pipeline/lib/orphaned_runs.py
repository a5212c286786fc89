"""Runs left STARTED by a code server that died: failed when the code server starts again.

The default run launcher runs each run as a child process of the code server and cannot check on it
afterwards (no worker health check), so a worker killed without a chance to record its end (the
host's stop grace period ran out, power loss, the OOM killer, SIGKILL) leaves its run STARTED until
run monitoring's max_runtime_seconds. On a host where the code server's processes live and die
together (one systemd unit with KillMode=control-group, or one container), no worker of a previous
code server can be alive when a new one starts: every run of its location still STARTED then is an
orphan. `python -m pipeline fail-orphaned-runs` (systemd's ExecStartPre, the compose command) fails
them as UNEXPECTED_TERMINATION, which the daemon's run retries re-execute (deploy/dagster.yaml).

Only STARTED runs: a worker had taken them. A STARTING run may still be on its way to the code
server that is about to start; run monitoring's start timeout handles one that never arrives.
"""

import dagster as dg

from pipeline.lib.dagster_internals import report_run_failed_as_unexpected_termination

MESSAGE = (
    "The code server that ran this run's worker stopped before the run ended (its processes were "
    "killed: stop timeout, power loss or the OOM killer). Marked failed when the code server started "
    "again, so run retries can re-execute it."
)


def orphaned_runs(instance: dg.DagsterInstance, location_name: str) -> list[dg.DagsterRun]:
    """Runs of the code location `location_name` that are STARTED."""
    runs = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
    return [
        run
        for run in runs
        if run.remote_job_origin is not None and run.remote_job_origin.location_name == location_name
    ]


def fail_orphaned_runs(instance: dg.DagsterInstance, location_name: str) -> list[str]:
    """Fail every orphaned run of `location_name` as UNEXPECTED_TERMINATION; their ids.

    Call only while no code server of that location is running (before it starts).
    """
    failed = []
    for run in orphaned_runs(instance, location_name):
        report_run_failed_as_unexpected_termination(instance, run, MESSAGE)
        failed.append(run.run_id)
    return failed


def main(location_name: str) -> int:
    """The command: fail the orphans of DAGSTER_HOME's instance, print what it did."""
    with dg.DagsterInstance.get() as instance:
        failed = fail_orphaned_runs(instance, location_name)
    if failed:
        print(f"failed {len(failed)} orphaned run(s) of location {location_name}: {', '.join(failed)}")
    else:
        print(f"no orphaned runs of location {location_name}")
    return 0
