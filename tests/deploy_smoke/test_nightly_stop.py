"""The host's nightly stop/start must be harmless (docs/deploy-ec2.md, "The nightly stop"): a run that
the stop interrupts, or that a power loss kills, is marked failed and retried, not left STARTED forever,
and the retry writes its day exactly once.

With a deployment of its own (tests/deploy_smoke/production.py over deploy/dagster.yaml, unchanged: its
own DAGSTER_HOME, Postgres database and S3 prefix; a Postgres warehouse, a database of its own on the same
server; the pipeline's own step retry settings):

1. the song catalogue (`sparkify_songs`), then one day of `sparkify_daily` are launched through the
   webserver's GraphQL API (the UI's Materialize button). Before the day's run is launched the test takes
   an ACCESS EXCLUSIVE lock on `staging.staging_songs` in a transaction it keeps open, so the run's dbt step
   builds `users` and then waits, inside `songplays` (which reads it), until the lock is gone. The test waits until
   the run is STARTED, its dbt step has started and a warehouse connection is waiting on the test's lock
   (`pg_blocking_pids`): the step is then certainly in flight, and stays so, whatever the machine's speed;
2. the deployment goes down, one of two ways:
   - ``stop``, as the host stops it: the harness's stop(), SIGTERM to every process group (daemon,
     webserver, then the code server, whose group holds the run worker and dbt);
   - ``power_loss``: SIGKILL to every process at once; nothing can record anything, so the run is still
     STARTED in Postgres while the host is down (asserted);
   then the test releases its lock (the killed dbt's waiting statement is rolled back by the server);
3. a second ProductionDeployment on the same instance (same base dir and DAGSTER_HOME config, Postgres
   database and bucket prefix) starts;
4. the run must be FAILURE with reason UNEXPECTED_TERMINATION, the daemon must launch one retry
   (`dagster/parent_run_id`) that succeeds, and the warehouse must hold that day's songplays once (one
   row per NextSong event).

Why a lock and a Postgres warehouse: the stop must land while a step runs. Without a hold, a stop sent when
the test saw the dbt step start raced it: the daemon's and webserver's stops come first (production's
order), and a daily dbt build takes about a second, so once in a fresh-clone CI run the run had finished
before SIGTERM reached its worker. A lock held on a table the step reads keeps the real step waiting in the
real warehouse without changing any code or sleeping; DuckDB has no such wait (a second writer fails at
once), and Postgres is the kind of warehouse production runs (Redshift speaks its protocol).

Why the stop holds: SIGTERM reaches the run worker and dbt (the code server's process group) and
surfaces as an interrupt inside the running step. Dagster's own RetryPolicy would put that step up for
retry and the worker would sleep waiting for it (observed before the fix: STEP_UP_FOR_RETRY "in ~520
seconds", SIGKILL after the grace period, the run STARTED until max_runtime_seconds, 3 h). The pipeline's
steps retry exceptions only (pipeline/lib/retries.py), so the worker fails the run as UNEXPECTED_TERMINATION
within seconds, and deploy/dagster.yaml's run retries (retry_on_asset_or_op_failure: false, which leaves
data errors alone) re-execute it once the daemon is back.

Why the power loss holds: before the code server starts, `python -m pipeline fail-orphaned-runs`
(systemd's ExecStartPre, the compose command, the harness) fails every STARTED run of the location as
UNEXPECTED_TERMINATION, since no worker of a previous code server survives it (pipeline/lib/orphaned_runs.py);
the same run retries re-execute it. This is also what happens to a run that a stop did not interrupt
and that outlived the stop's grace period (systemd TimeoutStopSec=90, compose stop_grace_period 90 s).
Observed on Dagster 1.13.27: each case takes two to four minutes on this 2-core machine.
"""

import datetime as dt
import json
import time
from pathlib import Path

import pytest

from pipeline.defs.sparkify.layout import event_key
from pipeline.lib.orphaned_runs import MESSAGE as ORPHAN_MESSAGE
from tests.deploy_smoke.production import (
    ComputeLogBucket,
    DeploymentError,
    PostgresTarget,
    ProductionDeployment,
    tags_of,
)
from tests.sparkify.expected_star import read_objects

JOB = "sparkify_daily"
SONGS_JOB = "sparkify_songs"
DAY = "2018-11-02"
DATABASE = "dagster_nightly_stop"
WAREHOUSE_DATABASE = "warehouse_nightly_stop"
BUCKET = "sparkify-dagster-compute-logs"
PREFIX = "compute-logs/nightly-stop"
HELD_TABLE = "staging.staging_songs"  # read by the daily dbt step's songplays, by no step before it
STEP_START_TIMEOUT_S = 120
FAILED_TIMEOUT_S = 150  # two of run monitoring's 60 s polls after the restart, and some
RETRY_APPEAR_TIMEOUT_S = 90
RETRY_TIMEOUT_S = 180
PARENT_TAG, ROOT_TAG = "dagster/parent_run_id", "dagster/root_run_id"
NOTABLE_EVENTS = ("STEP_UP_FOR_RETRY", "STEP_FAILURE", "RUN_FAILURE", "PIPELINE_FAILURE", "ENGINE_EVENT")

RUN_PROGRESS_QUERY = """
query RunProgress($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run {
      id status
      eventConnection(afterCursor: null) {
        events { __typename ... on ExecutionStepStartEvent { stepKey } }
      }
    }
  }
}
"""


def _next_song_events(lake_root: Path, day: str) -> int:
    """NextSong events in the day's raw file."""
    return sum(e.get("page") == "NextSong" for e in read_objects(lake_root / event_key(dt.date.fromisoformat(day))))


class TableLock:
    """An ACCESS EXCLUSIVE lock on a table, held in an open transaction of the test's own: every statement
    that touches the table waits until release()."""

    def __init__(self, connection, table: str):
        self.connection = connection
        with connection.cursor() as cursor:
            cursor.execute(f"lock table {table} in access exclusive mode")
            cursor.execute("select pg_backend_pid()")
            (self.pid,) = cursor.fetchone()

    def waiting(self) -> list[str]:
        """The statements of other connections that wait for this lock."""
        with self.connection.cursor() as cursor:
            # pg_stat_activity is read once per transaction, and this one stays open: read it anew.
            cursor.execute("select pg_stat_clear_snapshot()")
            cursor.execute(
                "select application_name, query from pg_stat_activity where %s = any(pg_blocking_pids(pid))",
                (self.pid,),
            )
            return [f"{application}: {' '.join(query.split())[:200]}" for application, query in cursor.fetchall()]

    def release(self) -> None:
        self.connection.rollback()
        self.connection.close()


def _run_in_postgres(postgres_server, database: str, run_id: str) -> tuple[str, str]:
    """The run's status, and a report of it with its failure/retry events, read from the instance's database."""
    with postgres_server.connect(database) as connection, connection.cursor() as cursor:
        cursor.execute("select status from runs where run_id = %s", (run_id,))
        (status,) = cursor.fetchone()
        cursor.execute(
            "select dagster_event_type, step_key, event from event_logs where run_id = %s "
            "and dagster_event_type = any(%s) order by id",
            (run_id, list(NOTABLE_EVENTS)),
        )
        events = []
        for kind, step, body in cursor.fetchall():
            entry = json.loads(body)
            message = entry.get("user_message") or (entry.get("dagster_event") or {}).get("message") or ""
            events.append(f"    {kind} {step or ''}: {message[:200]}")
    connection.close()
    return status, f"status {status}\n" + "\n".join(events)


def _assert_nothing_left(prod: ProductionDeployment) -> None:
    left = prod.left_running()
    assert not left, f"processes left after the deployment went down: {left}"
    assert not prod.listening_ports(), prod.listening_ports()


def _stop_and_check(prod: ProductionDeployment) -> str:
    """stop(); assert nothing of the deployment is left; what the stop needed, for messages."""
    codes = prod.stop()
    _assert_nothing_left(prod)
    killed = [name for name, s in prod.services.items() if s.killed]
    return f"exit codes {codes}, needed SIGKILL: {killed or 'none'}"


def _kill_and_check(prod: ProductionDeployment) -> str:
    """kill() (a power loss); assert nothing of the deployment is left."""
    prod.kill()
    _assert_nothing_left(prod)
    return "SIGKILL to every process"


@pytest.mark.parametrize("how", ["stop", "power_loss"])
def test_a_run_cut_off_by_the_host_going_down_fails_and_the_daemon_retries_it(
    how,
    tmp_path_factory,
    sample_lake,
    postgres_server,
    s3_endpoint,
):
    timings: dict[str, float] = {}
    base = tmp_path_factory.mktemp(f"nightly_{how}")
    database = f"{DATABASE}_{how}"
    postgres_server.create_database(database)
    warehouse = postgres_server.create_database(f"{WAREHOUSE_DATABASE}_{how}")

    def deployment() -> ProductionDeployment:
        """The same instance each time: one base dir (DAGSTER_HOME), one database, one bucket prefix."""
        return ProductionDeployment(
            base / "deployment",
            postgres=PostgresTarget(
                host=postgres_server.host,
                port=postgres_server.port,
                user=postgres_server.user,
                password=postgres_server.password,
                database=database,
            ),
            compute_logs=ComputeLogBucket(
                bucket=BUCKET,
                prefix=f"{PREFIX}/{how}",
                endpoint_url=s3_endpoint,
                access_key_id="testing",
                secret_access_key="testing",
            ),
            pipeline_env={
                "SPARKIFY_DATA_URI": str(sample_lake.root),
                "WAREHOUSE": "postgres",
                "POSTGRES_HOST": postgres_server.host,
                "POSTGRES_PORT": str(postgres_server.port),
                "POSTGRES_USER": postgres_server.user,
                "POSTGRES_PASSWORD": postgres_server.password,
                "POSTGRES_DB": warehouse,
            },
            deployment="local",  # sensors start stopped: only the test's runs happen
            max_concurrent_runs=1,
        )

    began = time.monotonic()
    try:
        # 1. The deployment runs a day.
        first = deployment()
        first.start()
        timings["first start"] = time.monotonic() - began
        lock = None
        try:
            assert first.api.runs() == [], "the instance had runs before the test launched any"
            songs = first.api.wait_for_run(
                first.api.launch_run(SONGS_JOB), RETRY_TIMEOUT_S
            )  # the daily run joins to it
            assert songs["status"] == "SUCCESS", first.api.failure_report(songs["id"])
            lock = TableLock(postgres_server.connect(warehouse), HELD_TABLE)
            run_id = first.api.launch_partition_run(JOB, DAY)
            launched = time.monotonic()
            while True:
                first._check_alive()
                run = first.graphql(RUN_PROGRESS_QUERY, {"runId": run_id})["runOrError"]
                started_steps = [
                    e["stepKey"]
                    for e in run["eventConnection"]["events"]
                    if e["__typename"] == "ExecutionStepStartEvent"
                ]
                assert run["status"] in ("QUEUED", "NOT_STARTED", "STARTING", "STARTED"), (
                    f"the run ended while the test held {HELD_TABLE}:\n{first.api.failure_report(run_id)}"
                )
                waiting = lock.waiting()
                # The dbt step has started and waits for the lock: it cannot end before the lock is released.
                if run["status"] == "STARTED" and any(step.endswith("_models") for step in started_steps) and waiting:
                    break
                if time.monotonic() > launched + STEP_START_TIMEOUT_S:
                    raise DeploymentError(
                        f"{run_id} did not reach its dbt step waiting for {HELD_TABLE} in {STEP_START_TIMEOUT_S} s "
                        f"(status {run['status']}, steps started {started_steps}, waiting for the lock {waiting})\n"
                        f"{first.log_tails()}"
                    )
                time.sleep(0.5)
            timings["launch to dbt step waiting"] = time.monotonic() - launched
        finally:
            # 2. The host goes down: SIGTERM to every process group (daemon, webserver, code server + run
            # worker), or SIGKILL to every process. Then the lock goes, as a restart would end any session.
            stopping = time.monotonic()
            first_stop = _kill_and_check(first) if how == "power_loss" else _stop_and_check(first)
            timings[how] = time.monotonic() - stopping
            if lock is not None:
                lock.release()

        status_while_down, while_down = _run_in_postgres(postgres_server, database, run_id)
        stop_report = (
            f"the stop (steps started: {started_steps}; waiting for {HELD_TABLE}: {waiting}): {first_stop}\n"
            f"run {run_id} in Postgres while the host was down: {while_down}"
        )
        print(stop_report)
        if how == "power_loss":
            assert status_while_down == "STARTED", f"a killed worker cannot record its end\n{stop_report}"

        # 3. The same instance starts again.
        restarting = time.monotonic()
        second = deployment()
        second.start()
        timings["restart"] = time.monotonic() - restarting
        try:
            # 4. The interrupted run ends FAILURE (by the worker at the stop, or by run monitoring now) ...
            try:
                interrupted = second.api.wait_for_run(run_id, FAILED_TIMEOUT_S)
            except DeploymentError as exc:
                raise AssertionError(
                    f"the interrupted run was not failed within {FAILED_TIMEOUT_S} s of the restart\n"
                    f"{stop_report}\nnow: {_run_in_postgres(postgres_server, database, run_id)[1]}\n{exc}"
                ) from None
            timings["restart to interrupted run FAILURE"] = time.monotonic() - restarting
            assert interrupted["status"] == "FAILURE", f"{second.api.failure_report(run_id)}\n{stop_report}"
            # Failed by its own worker at the stop, or before the code server started again (a power
            # loss), not by run monitoring's timeout hours later.
            assert tags_of(interrupted).get("dagster/failure_reason") == "UNEXPECTED_TERMINATION", stop_report
            if how == "power_loss":
                orphan_log = (second.log_dir / "fail-orphaned-runs.log").read_text()
                assert f"failed 1 orphaned run(s) of location data_platform: {run_id}" in orphan_log, orphan_log
                assert ORPHAN_MESSAGE[:120] in _run_in_postgres(postgres_server, database, run_id)[1]

            # ... and the daemon retries it.
            while True:
                second._check_alive()
                retries = [r for r in second.api.runs() if tags_of(r).get(PARENT_TAG) == run_id]
                if retries:
                    break
                if time.monotonic() > restarting + timings["restart"] + RETRY_APPEAR_TIMEOUT_S:
                    raise AssertionError(
                        f"the daemon launched no retry of {run_id} within {RETRY_APPEAR_TIMEOUT_S} s\n"
                        f"{second.api.failure_report(run_id)}\n{stop_report}"
                    )
                time.sleep(1)
            timings["restart to retry launched"] = time.monotonic() - restarting
            assert len(retries) == 1, retries
            waiting = time.monotonic()
            retry = second.api.wait_for_run(retries[0]["id"], RETRY_TIMEOUT_S)
            timings["retry launched to finished"] = time.monotonic() - waiting
            assert retry["status"] == "SUCCESS", f"{second.api.failure_report(retry['id'])}\n{second.log_tails()}"
            retry_tags = tags_of(retry)
            assert retry_tags[ROOT_TAG] == run_id and retry_tags["dagster/partition"] == DAY, retry_tags
            all_runs = second.api.runs()
            assert sorted(r["id"] for r in all_runs) == sorted([songs["id"], run_id, retry["id"]]), all_runs
        finally:
            stopping = time.monotonic()
            print(f"final stop: {_stop_and_check(second)}")
            timings["final stop"] = time.monotonic() - stopping
    finally:
        timings["total"] = time.monotonic() - began
        print("\n".join(f"timing {name}: {seconds:.1f}s" for name, seconds in timings.items()))

    # The warehouse has that day's songplays exactly once.
    expected = _next_song_events(sample_lake.root, DAY)
    with postgres_server.connect(warehouse) as connection, connection.cursor() as cursor:
        cursor.execute(
            "select count(*), count(distinct songplay_id), count(*) filter (where start_time::date = %s) "
            "from analytics.songplays",
            (DAY,),
        )
        total, distinct, of_day = cursor.fetchone()
    connection.close()
    assert expected > 0
    assert total == distinct, f"duplicate songplays: {total} rows, {distinct} ids"
    assert total == of_day == expected, (total, of_day, expected)
