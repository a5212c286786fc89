"""Transient faults are retried, data errors are not; failed runs reach Slack or the log."""

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

from pipeline.defs.platform.alerts import failure_message, run_failure_alert, send_alert
from pipeline.defs.sparkify.layout import event_key
from pipeline.lib.retries import retried_on_fault, retry_policy
from pipeline.lib.transient import TransientFault, is_transient
from tests.conftest import restarted_steps, upload_tree
from tests.s3_proxy import S3Proxy
from tests.sparkify.runs import materialize_days

DAY = dt.date(2018, 11, 1)


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
    def __init__(self):
        self.messages = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                hook.messages.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
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
    assert failure_message(context).startswith(
        f"Dagster run {run.run_id} of sparkify_daily (2018-11-01..2018-11-01) failed"
    )

    hook = _Webhook()
    monkeypatch.setenv("SLACK_WEBHOOK_URL", hook.url)
    run_failure_alert(dg.DefaultSensorStatus.STOPPED)(context)
    hook.server.shutdown()
    assert [m["text"] for m in hook.messages] == [failure_message(context)]


def test_without_slack_the_alert_is_logged(monkeypatch):
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    monkeypatch.delenv("SLACK_TOKEN", raising=False)
    assert send_alert("run failed") == "log"
