"""Transient faults are retried, data errors are not; failed runs (their last attempt) and every failed check
evaluation reach Slack or the log once, with their page in the UI."""

import datetime as dt
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import botocore.exceptions
import dagster as dg
import duckdb
import psycopg2
import psycopg2.errors
import pytest

from pipeline.defs.platform.alerts import check_failure_alert, failure_message, run_failure_alert, send_alert
from pipeline.defs.sparkify.layout import event_key
from pipeline.lib.freshness import partition_freshness
from pipeline.lib.retries import retried_on_fault, retry_policy
from pipeline.lib.settings import Settings
from pipeline.lib.transient import TransientFault, is_transient
from tests.conftest import restarted_steps, upload_tree
from tests.s3_proxy import S3Proxy
from tests.sparkify.runs import materialize_days

DAY = dt.date(2018, 11, 1)
UI = "https://dagster.example.com"


def _materialize_in_a_new_process(day: dt.date) -> tuple[int, str, str]:
    """A run in a fresh process, as the CLI makes it: its S3 client and settings come from this test's environment."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "materialize",
            "--group",
            "sparkify",
            "--start",
            day.isoformat(),
            "--end",
            day.isoformat(),
        ],
        cwd=Path(__file__).resolve().parent.parent,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=600,
    )
    runs = dg.DagsterInstance.get().get_runs()  # newest first: the daily run after the songs run
    assert runs, done.stdout + done.stderr
    return done.returncode, done.stdout, runs[0].run_id


def test_the_policy_follows_the_environment(monkeypatch):
    policy = retry_policy()
    assert (policy.max_retries, policy.delay, policy.backoff, policy.jitter) == (
        3,
        300,
        dg.Backoff.EXPONENTIAL,
        dg.Jitter.PLUS_MINUS,
    )
    monkeypatch.setenv("RETRY_MAX", "-1")
    with pytest.raises(ValueError, match="RETRY_MAX"):
        retry_policy()


def _materialize_failing(fault: BaseException, failures: int, generator: bool = False):
    """Materialize an asset whose body raises `fault` the first `failures` times; (calls, result)."""
    calls = []

    def attempt():
        calls.append(len(calls))
        if len(calls) <= failures:
            raise fault

    if generator:  # the dbt assets' shape: a body that streams events

        @dg.asset
        @retried_on_fault
        def flaky(context: dg.AssetExecutionContext):
            attempt()
            yield dg.MaterializeResult()
    else:

        @dg.asset
        @retried_on_fault
        def flaky(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
            attempt()
            return dg.MaterializeResult()

    result = dg.materialize([flaky], raise_on_error=False)
    return len(calls), result


def _event_types(result) -> list[str]:
    return [e.event_type_value for e in result.all_events]


@pytest.mark.parametrize("generator", [False, True], ids=["returning body", "streaming body"])
def test_a_fault_is_retried_by_the_policy(monkeypatch, generator):
    monkeypatch.setenv("RETRY_DELAY_SECONDS", "0")
    calls, result = _materialize_failing(ConnectionError("reset by peer"), failures=2, generator=generator)
    assert result.success and calls == 3
    assert _event_types(result).count("STEP_RESTARTED") == 2


def test_a_fault_that_outlives_its_retries_is_a_step_failure(monkeypatch):
    monkeypatch.setenv("RETRY_DELAY_SECONDS", "0")
    monkeypatch.setenv("RETRY_MAX", "1")
    calls, result = _materialize_failing(ConnectionError("reset by peer"), failures=5)
    assert not result.success and calls == 2
    assert result.dagster_run.tags["dagster/failure_reason"] == "STEP_FAILURE"


def test_a_data_error_is_not_retried(monkeypatch):
    monkeypatch.setenv("RETRY_DELAY_SECONDS", "0")
    calls, result = _materialize_failing(dg.Failure("line 3, field 'ts'", allow_retries=False), failures=1)
    assert not result.success and calls == 1
    assert "STEP_UP_FOR_RETRY" not in _event_types(result)
    assert result.dagster_run.tags["dagster/failure_reason"] == "STEP_FAILURE"  # run retries leave it alone


@pytest.mark.parametrize(
    "fault",
    [
        UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
        KeyError("userId"),
        duckdb.ParserException('Parser Error: syntax error at or near "selec"'),
        psycopg2.errors.SyntaxError('syntax error at or near "selec"'),
        ValueError("a bug"),
        dg.Failure("dbt tests failed: unique_songplays_songplay_id", allow_retries=False),
    ],
    ids=["decode-error", "key-error", "duckdb-sql-syntax", "postgres-sql-syntax", "value-error", "failed-check"],
)
def test_a_fault_that_is_not_transient_fails_at_once(monkeypatch, fault):
    monkeypatch.setenv("RETRY_DELAY_SECONDS", "0")
    calls, result = _materialize_failing(fault, failures=1)
    assert not result.success and calls == 1
    assert "STEP_UP_FOR_RETRY" not in _event_types(result)


@pytest.mark.parametrize(
    "fault",
    [
        botocore.exceptions.ClientError(
            {"Error": {"Code": "SlowDown"}, "ResponseMetadata": {"HTTPStatusCode": 503}}, "ListObjectsV2"
        ),
        botocore.exceptions.EndpointConnectionError(endpoint_url="http://127.0.0.1:9"),
        TimeoutError("read timed out"),
        RuntimeError("loading the day failed"),  # raised from a reset connection, below
    ],
    ids=["s3-slowdown", "s3-unreachable", "timeout", "raised-from-a-reset"],
)
def test_each_transient_class_is_retried(monkeypatch, fault):
    monkeypatch.setenv("RETRY_DELAY_SECONDS", "0")
    if isinstance(fault, RuntimeError):
        fault.__cause__ = ConnectionResetError("connection reset by peer")
    calls, result = _materialize_failing(fault, failures=1)
    assert result.success and calls == 2
    assert _event_types(result).count("STEP_RESTARTED") == 1


def test_a_warehouse_connection_killed_by_the_server_is_retried(monkeypatch, postgres_server):
    """A real fault: the server ends the step's connection (pg_terminate_backend), as a restart or failover does."""
    monkeypatch.setenv("RETRY_DELAY_SECONDS", "0")
    attempts = []

    @dg.asset
    @retried_on_fault
    def reads_the_warehouse() -> dg.MaterializeResult:
        attempts.append(len(attempts))
        with postgres_server.connect() as connection, connection.cursor() as cursor:
            if len(attempts) == 1:
                with postgres_server.connect() as admin, admin.cursor() as killer:
                    killer.execute("select pg_terminate_backend(%s)", (connection.get_backend_pid(),))
            cursor.execute("select 1")
        return dg.MaterializeResult()

    result = dg.materialize([reads_the_warehouse], raise_on_error=False)
    assert result.success and len(attempts) == 2
    assert _event_types(result).count("STEP_RESTARTED") == 1


def test_a_pipeline_adds_its_own_transient_faults_by_type_only():
    class QuotaExceeded(TransientFault):
        """A pipeline's own source's fault that a retry resolves."""

    class SchemaChanged(Exception):
        pass

    assert is_transient(QuotaExceeded())
    assert is_transient(RuntimeError("wrapped").with_traceback(None)) is False
    try:
        try:
            raise QuotaExceeded()
        except QuotaExceeded as exc:
            raise RuntimeError("the step failed") from exc
    except RuntimeError as wrapped:
        assert is_transient(wrapped)  # a cause on the list makes the fault transient
    assert not is_transient(SchemaChanged())
    assert not is_transient(ValueError("still a bug"))


@pytest.mark.parametrize("generator", [False, True], ids=["returning body", "streaming body"])
def test_an_interrupt_ends_the_run_instead_of_waiting_for_a_step_retry(monkeypatch, generator):
    """A host stop (SIGTERM) surfaces inside the running step; Dagster's own RetryPolicy would retry it."""
    monkeypatch.setenv("RETRY_DELAY_SECONDS", "0")
    calls, result = _materialize_failing(dg.DagsterExecutionInterruptedError(), failures=1, generator=generator)
    assert not result.success and calls == 1
    assert "STEP_UP_FOR_RETRY" not in _event_types(result)
    # The failure reason the instance's run retries re-execute (deploy/dagster.yaml).
    assert result.dagster_run.tags["dagster/failure_reason"] == "UNEXPECTED_TERMINATION"


def test_a_throttled_s3_succeeds_after_retries(pipeline_env, sample_lake, s3_env, s3_endpoint, monkeypatch):
    upload_tree(s3_env, sample_lake.root, "flaky-lake", "raw")
    monkeypatch.setenv("SPARKIFY_DATA_URI", "s3://flaky-lake/raw")
    monkeypatch.setenv("RETRY_DELAY_SECONDS", "0")
    # More failures than boto3's own attempts (S3Resource: 5), so Dagster's retry policy must take over.
    with S3Proxy(s3_endpoint, fail_first=8) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
        status, output, run_id = _materialize_in_a_new_process(DAY)
    assert status == 0, output
    # The first step to reach S3 is the songs run's listing: its first attempt failed on 503 SlowDown.
    [songs_run] = dg.DagsterInstance.get().get_runs(dg.RunsFilter(job_name="sparkify_songs"))
    assert restarted_steps(songs_run.run_id) == ["raw__song_data"]
    assert restarted_steps(run_id) == []


def test_a_malformed_file_fails_at_once_without_retries(copied_lake, pipeline_env, monkeypatch):
    monkeypatch.setenv("RETRY_DELAY_SECONDS", "0")
    path = copied_lake / event_key(DAY)
    path.write_text(path.read_text(encoding="utf-8").replace('"ts":', '"ts":"x","was":', 1), encoding="utf-8")
    status, output, run_id = _materialize_in_a_new_process(DAY)
    assert status == 1 and "line 1, field 'ts'" in output
    assert restarted_steps(run_id) == []


class _Webhook:
    """Slack's incoming webhook on loopback: records what it is sent; answers 500 to the first `failures` posts."""

    def __init__(self, failures: int = 0):
        self.messages = []
        self.failures = failures
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if hook.failures:
                    hook.failures -= 1
                    self.send_response(500)
                    self.end_headers()
                    return
                hook.messages.append(body)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"


def test_failed_runs_are_posted_to_the_slack_webhook(copied_lake, pipeline_env, monkeypatch):
    (copied_lake / event_key(DAY)).unlink()
    outcome = materialize_days([DAY])
    assert not outcome.ok
    instance = dg.DagsterInstance.get()
    run = instance.get_run_by_id(outcome.run_id)
    [failure] = instance.get_records_for_run(outcome.run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records
    context = dg.build_run_status_sensor_context(
        sensor_name="run_failure_alert_sensor",
        dagster_instance=instance,
        dagster_run=run,
        dagster_event=failure.event_log_entry.dagster_event,
    ).for_run_failure()
    message = failure_message(context, UI)
    assert message.startswith(f"Dagster run {run.run_id} of sparkify_daily (2018-11-01..2018-11-01) failed")
    assert message.endswith(f"\n{UI}/runs/{run.run_id}")

    hook = _Webhook()
    monkeypatch.setenv("SLACK_WEBHOOK_URL", hook.url)
    run_failure_alert(dg.DefaultSensorStatus.STOPPED, UI)(context)
    hook.server.shutdown()
    assert [m["text"] for m in hook.messages] == [message]


def test_without_slack_the_alert_is_logged(monkeypatch):
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    monkeypatch.delenv("SLACK_TOKEN", raising=False)
    assert send_alert("run failed") == "log"


# A persistent instance of the test's own (build_sensor_context refuses an ephemeral one), with no telemetry.
QUIET = {"telemetry": {"enabled": False}}


def _tick(sensor: dg.SensorDefinition, instance: dg.DagsterInstance, cursor: str | None, **context) -> str | None:
    """One evaluation of the sensor, as the daemon makes it: the cursor it left goes to the next tick."""
    return sensor.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=cursor, **context)).cursor


@pytest.fixture
def webhook(monkeypatch):
    hook = _Webhook()
    monkeypatch.setenv("SLACK_WEBHOOK_URL", hook.url)
    yield hook
    hook.server.shutdown()


def test_a_failed_freshness_check_alerts_once(tmp_path, webhook):
    """The freshness checks and their sensor as lib/freshness.py builds them for the daemon; a day never loaded."""
    first_day = (dt.datetime.now(dt.UTC) - dt.timedelta(days=5)).strftime("%Y-%m-%d")

    @dg.asset(key=["staging", "events"], partitions_def=dg.DailyPartitionsDefinition(start_date=first_day))
    def events() -> None:
        pass

    checks, freshness_sensor = partition_freshness(
        [events], "0 3 * * *", "freshness_sensor", dg.DefaultSensorStatus.STOPPED
    )
    alerts = check_failure_alert(dg.DefaultSensorStatus.STOPPED, UI)
    defs = dg.Definitions(assets=[events], asset_checks=checks, sensors=[freshness_sensor, alerts])
    with dg.DagsterInstance.local_temp(str(tmp_path), overrides=QUIET) as instance:
        cursor = _tick(alerts, instance, None, definitions=defs)  # started: alerts from now on
        assert webhook.messages == []

        # What the daemon does with the freshness sensor's request: a run of the checks it names.
        request = freshness_sensor.evaluate_tick(dg.build_sensor_context(instance=instance, definitions=defs))
        [request] = request.run_requests
        job = dg.define_asset_job("freshness_checks", selection=dg.AssetSelection.checks(*request.asset_check_keys))
        checks_run = (
            dg.Definitions.merge(defs, dg.Definitions(jobs=[job]))
            .resolve_job_def("freshness_checks")
            .execute_in_process(instance=instance)
        )
        [evaluation] = checks_run.get_asset_check_evaluations()
        assert not evaluation.passed

        cursor = _tick(alerts, instance, cursor, definitions=defs)
        [message] = [m["text"] for m in webhook.messages]
        assert message.startswith("WARN: check freshness_check on staging/events failed: ")
        assert evaluation.description in message  # names the partition it expected
        assert f"{UI}/assets/staging/events?view=checks&checkDetail=freshness_check" in message
        assert f"{UI}/runs/{checks_run.run_id}" in message

        # The next tick, and a tick of the sensor built anew (a restarted code server) from the stored cursor.
        cursor = _tick(alerts, instance, cursor, definitions=defs)
        _tick(check_failure_alert(dg.DefaultSensorStatus.STOPPED, UI), instance, cursor, definitions=defs)
        assert len(webhook.messages) == 1


def test_a_failed_check_alerts_once_naming_asset_partition_and_check(tmp_path, webhook):
    partitions = dg.DailyPartitionsDefinition(start_date="2024-01-01")

    @dg.asset(key=["staging", "events"], partitions_def=partitions)
    def events() -> None:
        pass

    @dg.asset_check(asset=events, partitions_def=partitions, blocking=False, description="Every event has a user id.")
    def users_known(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        return dg.AssetCheckResult(
            passed=False, severity=dg.AssetCheckSeverity.WARN, description="3 events without a user id"
        )

    @dg.asset_check(asset=events, partitions_def=partitions, blocking=True)
    def has_rows(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=context.partition_key != "2024-01-03", description="no rows")

    alerts = check_failure_alert(dg.DefaultSensorStatus.STOPPED, UI)
    defs = dg.Definitions(assets=[events], asset_checks=[users_known, has_rows], sensors=[alerts])
    with dg.DagsterInstance.local_temp(str(tmp_path), overrides=QUIET) as instance:
        cursor = _tick(alerts, instance, None, definitions=defs)
        run = dg.materialize([events, users_known, has_rows], partition_key="2024-01-02", instance=instance)
        cursor = _tick(alerts, instance, cursor, definitions=defs)
        assert [m["text"] for m in webhook.messages] == [
            "WARN: check users_known on staging/events, partition 2024-01-02 failed: 3 events without a user id\n"
            "The check: Every event has a user id.\n"
            f"{UI}/assets/staging/events?view=checks&checkDetail=users_known\n"
            f"Run: {UI}/runs/{run.run_id}"
        ]

        # A blocking check fails the run as well (run_failure_alert_sensor says so); it alerts here once too.
        failed = dg.materialize(
            [events, users_known, has_rows], partition_key="2024-01-03", instance=instance, raise_on_error=False
        )
        assert not failed.success
        for _ in range(2):
            cursor = _tick(alerts, instance, cursor, definitions=defs)
        firsts = sorted(m["text"].splitlines()[0] for m in webhook.messages[1:])
        assert firsts == [
            "ERROR: blocking check has_rows on staging/events, partition 2024-01-03 failed: no rows",
            "WARN: check users_known on staging/events, partition 2024-01-03 failed: 3 events without a user id",
        ]


def test_an_alert_slack_did_not_take_is_posted_at_the_next_tick(tmp_path, webhook):
    @dg.asset
    def songs() -> None:
        pass

    @dg.asset_check(asset=songs, blocking=False)
    def songs_have_titles() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=False, description="2 songs without a title")

    alerts = check_failure_alert(dg.DefaultSensorStatus.STOPPED, UI)
    with dg.DagsterInstance.local_temp(str(tmp_path), overrides=QUIET) as instance:
        cursor = _tick(alerts, instance, None)
        dg.materialize([songs, songs_have_titles], instance=instance)
        webhook.failures = 1
        cursor = _tick(alerts, instance, cursor)
        assert webhook.messages == [] and webhook.failures == 0  # posted, refused
        for _ in range(2):
            cursor = _tick(alerts, instance, cursor)
    [message] = [m["text"] for m in webhook.messages]
    assert message.startswith("ERROR: check songs_have_titles on songs failed: 2 songs without a title\n")


@dg.op
def _reads_a_source_that_is_down() -> None:
    raise ConnectionError("the source is down")


@dg.job(executor_def=dg.in_process_executor)
def flaky_job():
    _reads_a_source_that_is_down()


def test_a_run_dagster_will_retry_is_not_alerted_its_last_attempt_is(tmp_path, webhook):
    """Run retries as deploy/dagster.yaml enables them: the instance marks the failed run `dagster/will_retry`."""
    overrides = {**QUIET, "run_retries": {"enabled": True, "max_retries": 1}}
    alerts = run_failure_alert(dg.DefaultSensorStatus.STOPPED, UI)
    with dg.DagsterInstance.local_temp(str(tmp_path), overrides=overrides) as instance:
        cursor = _tick(alerts, instance, None)
        first = flaky_job.execute_in_process(instance=instance, raise_on_error=False)
        assert instance.get_run_by_id(first.run_id).tags["dagster/will_retry"] == "true"
        cursor = _tick(alerts, instance, cursor)
        assert webhook.messages == []

        # The retry the run-retries daemon launches: a re-execution of the failed run, in its run group (the
        # tags the daemon's create_reexecuted_run sets), its last attempt.
        options = dg.ReexecutionOptions.from_failure(first.run_id, instance)
        group = {
            "dagster/parent_run_id": first.run_id,
            "dagster/root_run_id": first.run_id,
            "dagster/retry_number": "1",
        }
        with dg.execute_job(dg.reconstructable(flaky_job), instance, reexecution_options=options, tags=group) as retry:
            assert not retry.success
        assert instance.get_run_by_id(retry.run_id).tags["dagster/will_retry"] == "false"
        cursor = _tick(alerts, instance, cursor)
        _tick(alerts, instance, cursor)
    [message] = [m["text"] for m in webhook.messages]
    assert message.startswith(f"Dagster run {retry.run_id} of flaky_job failed (attempt 2, the last): ")
    assert message.endswith(f"\n{UI}/runs/{retry.run_id}")


def test_the_ui_address_is_a_web_address():
    assert Settings.from_env({}).dagster_ui_url == "http://127.0.0.1:3000"
    assert Settings.from_env({"DAGSTER_UI_URL": "https://dagster.example.com/"}).dagster_ui_url == UI
    with pytest.raises(ValueError, match="the web UI's address"):
        Settings.from_env({"DAGSTER_UI_URL": "dagster.example.com"})
