"""The backfill of docs/running-unattended.md, run as a user runs it: `dagster-daemon run` in the background and
`dagster job backfill` over three days, then the instance's runs and the warehouse's rows.

What this shows about Dagster 1.13: `dagster job backfill` ignores the assets'
BackfillPolicy.single_run(). The command itself creates one run per partition (tag
dagster/partition, no partition range), submits them to the run coordinator and records the backfill
as COMPLETED at once; the daemon's run queue then launches them. With the default
QueuedRunCoordinator (10 runs at a time) the three runs open the DuckDB file together and usually
fail on its lock ("Could not set lock on file ... Conflicting lock is held"), so the instance must
launch one run at a time: `max_concurrent_runs: 1`.

The sensors and schedules that start by default are stopped before the daemon starts (the day-file
sensor would request its own run of each of the three days), so every run in the instance is the
backfill's.
"""

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import yaml
from dagster._core.execution.backfill import BulkActionStatus

from pipeline.defs.sparkify import layout
from pipeline.lib.instance import ensure_dagster_home
from tests.sparkify.expected_star import read_objects
from tests.sparkify.runs import materialize_songs

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DAYS = ("2018-11-01", "2018-11-02", "2018-11-03")
TIMEOUT_S = 240
PARTITION_TAG = "dagster/partition"


def tail(path: Path, chars: int = 6000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else "(no daemon log)"


def step_errors(instance: dg.DagsterInstance, run_id: str) -> str:
    """Each failed or retried step of the run with the end of its error."""
    lines = []
    for record in instance.get_records_for_run(run_id).records:
        event = record.event_log_entry.dagster_event
        if event is None:
            continue
        if event.is_step_failure or event.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY:
            error, causes = event.event_specific_data.error, []
            while error is not None:  # Dagster's wrapper first, the user's exception last
                causes.append(f"{error.cls_name}: {error.message.strip()}")
                error = error.cause
            lines.append(f"  {event.event_type_value} {event.step_key}: {' <- '.join(reversed(causes))[:1500]}")
        elif event.is_run_failure:
            lines.append(f"  run failure: {record.event_log_entry.message}")
    return "\n".join(lines)


def stop_sensors_and_schedules(instance: dg.DagsterInstance) -> list[str]:
    """Stop every sensor and schedule of the workspace that is running, as `dagster sensor stop` would.

    The day-file sensor would otherwise request a run per day file of the lake as soon as the daemon
    starts: runs of the same days beside the backfill's, in the same DuckDB file.
    """
    from dagster._cli.workspace.cli_target import get_workspace_from_cli_opts
    from dagster_shared.cli import WorkspaceOpts

    stopped = []
    opts = WorkspaceOpts(workspace=[str(REPO / "workspace.yaml")])
    with get_workspace_from_cli_opts(instance, dg.__version__, opts) as workspace:
        for location in workspace.code_locations:
            for repo in location.get_repositories().values():
                for instigators, stop_one in [
                    (repo.get_sensors(), instance.stop_sensor),
                    (repo.get_schedules(), instance.stop_schedule),
                ]:
                    for instigator in instigators:
                        origin_id, selector_id = instigator.get_remote_origin_id(), instigator.selector_id
                        stored = instance.get_instigator_state(origin_id, selector_id)
                        if instigator.get_current_instigator_state(stored).is_running:
                            stop_one(origin_id, selector_id, instigator)
                            stopped.append(instigator.name)
    return stopped


def stop(process: subprocess.Popen) -> int:
    """SIGTERM to the daemon's process group (daemon, its code server, any run worker); SIGKILL after 30 s."""
    pgid = process.pid  # start_new_session: the daemon leads its own group
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        return process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(pgid, signal.SIGKILL)
        process.wait(timeout=10)
        raise AssertionError("dagster-daemon ignored SIGTERM for 30 s and was killed") from None
    finally:
        deadline = time.monotonic() + 15  # the code server may outlive the daemon for a moment
        while True:
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                break
            if time.monotonic() > deadline:
                os.killpg(pgid, signal.SIGKILL)
                raise AssertionError("processes of the daemon's group outlived it by 15 s and were killed")
            time.sleep(0.2)


def describe(instance: dg.DagsterInstance, run: dg.DagsterRun) -> str:
    stats = instance.get_run_stats(run.run_id)
    took = f"{stats.end_time - stats.start_time:.1f}s" if stats.end_time and stats.start_time else "-"
    origin = "backfill" if run.tags.get("dagster/backfill") else (run.tags.get("dagster/sensor_name") or "other")
    return f"{run.run_id[:8]} {run.job_name} {origin} partition={run.tags.get(PARTITION_TAG)} {run.status.value} {took}"


def backfill_through_the_daemon(
    instance: dg.DagsterInstance, env: dict, log: Path, job: str, first: str, last: str
) -> tuple[object, list[dg.DagsterRun], list[dg.DagsterRun]]:
    """`dagster-daemon run` in the background, `dagster job backfill -j job --from first --to last`, then wait until
    every run of the instance has succeeded and stop the daemon: (the backfill, its runs, all runs).

    Any failed, cancelled or retried run fails the caller's test with its step errors and the daemon's log.
    """
    started = time.monotonic()
    with log.open("w") as out:
        daemon = subprocess.Popen(
            ["env", "--default-signal=INT,TERM", str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        command = ["job", "backfill", "-w", "workspace.yaml", "-j", job, "--from", first, "--to", last, "--noprompt"]
        backfill = subprocess.run(
            [str(BIN / "dagster"), *command], cwd=REPO, env=env, capture_output=True, text=True, timeout=180
        )
        print(f"--- dagster job backfill stdout ---\n{backfill.stdout}--- end ---")
        assert backfill.returncode == 0, backfill.stdout[-3000:] + backfill.stderr[-3000:]
        assert "Launched backfill" in backfill.stdout, backfill.stdout + backfill.stderr[-3000:]
        launched = time.monotonic()

        deadline = launched + TIMEOUT_S
        while True:
            assert daemon.poll() is None, f"dagster-daemon exited ({daemon.returncode}):\n{tail(log)}"
            backfills = instance.get_backfills()
            assert len(backfills) == 1, backfills
            job_backfill = backfills[0]
            runs = instance.get_runs(filters=dg.RunsFilter.for_backfill(job_backfill.backfill_id))
            all_runs = instance.get_runs()
            troubled = [
                r
                for r in all_runs
                if r.status in (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)
                or instance.get_records_for_run(r.run_id, of_type=dg.DagsterEventType.STEP_UP_FOR_RETRY).records
            ]
            assert not troubled, (
                "\n".join(f"{describe(instance, r)}\n{step_errors(instance, r.run_id)}" for r in troubled)
                + f"\n--- daemon log tail ---\n{tail(log)}"
            )
            if (
                job_backfill.status in (BulkActionStatus.COMPLETED, BulkActionStatus.COMPLETED_SUCCESS)
                and runs
                and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
                and all(r.is_finished for r in all_runs)
            ):
                break
            assert time.monotonic() < deadline, (
                f"backfill {job_backfill.backfill_id} not done {TIMEOUT_S} s after launch: "
                f"{job_backfill.status.value}\n"
                + "\n".join(describe(instance, r) for r in all_runs)
                + f"\n--- daemon log tail ---\n{tail(log)}"
            )
            time.sleep(2)
        done = time.monotonic()

        print(
            f"backfill {job_backfill.backfill_id}: {job_backfill.status.value}, "
            f"partitions {list(job_backfill.partition_names)}"
        )
        for run in sorted(all_runs, key=lambda r: instance.get_run_stats(r.run_id).start_time or 0):
            print("  " + describe(instance, run))
        print(
            f"timings: backfill command returned {launched - started:.1f}s after the daemon started; "
            f"runs done {done - launched:.1f}s later"
        )
    finally:
        code = stop(daemon)
        print(f"dagster-daemon exited with {code} {time.monotonic() - started:.1f}s after it started")
    assert code == 0, f"dagster-daemon did not shut down cleanly on SIGTERM ({code}):\n{tail(log)}"
    return job_backfill, runs, all_runs


def test_job_backfill_through_the_daemon_loads_every_day(pipeline_env, tmp_path):
    env = {**os.environ, **pipeline_env}
    ensure_dagster_home(os.environ["DAGSTER_HOME"])
    config = yaml.safe_load((Path(pipeline_env["DAGSTER_HOME"]) / "dagster.yaml").read_text())
    # DuckDB takes one writer at a time: the local instance launches the backfill's runs one by one.
    assert config["concurrency"]["runs"]["max_concurrent_runs"] == 1

    with dg.DagsterInstance.get() as instance:
        stopped = stop_sensors_and_schedules(instance)
        print(f"stopped before the daemon starts: {stopped}")
        assert materialize_songs().ok  # the daily runs join plays to the song catalogue
        job_backfill, runs, all_runs = backfill_through_the_daemon(
            instance, env, tmp_path / "daemon.log", "sparkify_daily", DAYS[0], DAYS[-1]
        )

    # One run per partition, not one run for the range: the job backfill does not apply
    # BackfillPolicy.single_run(), and the command records the backfill as COMPLETED itself.
    assert job_backfill.status == BulkActionStatus.COMPLETED
    assert sorted(job_backfill.partition_names) == list(DAYS)
    assert sorted(r.tags.get(PARTITION_TAG) for r in runs) == list(DAYS)
    assert all("dagster/asset_partition_range_start" not in r.tags for r in runs)
    assert len(runs) == len(DAYS) and len(all_runs) == len(runs) + 1  # and the songs run

    lake = Path(pipeline_env["SPARKIFY_DATA_URI"])
    raw_objects = sum(len(read_objects(lake / layout.event_key(dt.date.fromisoformat(day)))) for day in DAYS)
    with duckdb.connect(pipeline_env["DUCKDB_PATH"], read_only=True) as connection:
        days = connection.execute("select count(distinct cast(start_time as date)) from analytics.songplays").fetchone()
        staged = connection.execute("select count(*) from staging.staging_events").fetchone()
    assert days == (3,)
    assert staged == (raw_objects,)
