"""The Spark engine's launch on AWS, against moto's Glue, EMR Serverless and S3 on loopback: the pipeline uploads
spark/month_job.py, starts the job with dagster-aws's Pipes clients, and what the job reports through S3 lands on
the materialization.

moto records a job run but runs nothing, so the test plays the remote job: when StartJobRun returns, it takes the
run's arguments (Glue) or spark-submit parameters (EMR Serverless) back from moto, fetches the script from S3 and
runs it with the local Spark, as the service would. Not verified here: IAM, Glue's --additional-python-modules
and EMR's Python archive, Spark reading s3:// (the lake is a local folder), CloudWatch logs.
"""

import os
import shlex
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import boto3
import dagster as dg
import pytest

from pipeline.defs.nyc_taxi.sample_data import TaxiSpec, generate_months
from tests.nyc_taxi.test_spark_engine import GOLD, SPARK_PYTHON, STAGING, run_steps

SCRIPT_URI = "s3://nyc-spark/jobs/month_job.py"
JOB = "nyc-taxi-month"


@pytest.fixture
def aws(tmp_path, pipeline_env, s3_env, monkeypatch):
    """A month in a local lake, the script bucket, and a boto3 default session whose StartJobRun calls run the
    job: every client the pipeline makes comes from it."""
    assert SPARK_PYTHON.exists(), "the Spark double is missing: run bash tests/install_servers.sh"
    generate_months(tmp_path / "nyc", TaxiSpec(months=1, trips_per_month=400))
    monkeypatch.setenv("NYC_TAXI_DATA_URI", str(tmp_path / "nyc"))
    monkeypatch.setenv("NYC_TAXI_SPARK_SCRIPT_URI", SCRIPT_URI)
    s3_env.create_bucket(Bucket="nyc-spark")
    session = boto3.session.Session()
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", session)
    jobs = []
    session.events.register(
        "after-call.glue.StartJobRun", lambda parsed, **_: jobs.append(_run_glue_job(parsed, tmp_path))
    )
    session.events.register(
        "after-call.emr-serverless.StartJobRun", lambda parsed, **_: jobs.append(_run_emr_job(parsed, tmp_path))
    )
    # moto answers the type upper-cased as created; EMR Serverless answers "Spark", which dagster-aws expects.
    session.events.register("after-call.emr-serverless.GetApplication", _spark_type)
    return jobs


def _spark_type(parsed, **_):
    parsed["application"]["type"] = parsed["application"]["type"].capitalize()


def _script_from_s3(uri: str, folder: Path) -> Path:
    parsed, path = urlparse(uri), folder / "month_job.py"
    boto3.client("s3").download_file(parsed.netloc, parsed.path.lstrip("/"), str(path))
    return path


def _run_glue_job(started: dict, folder: Path) -> dict:
    glue = boto3.client("glue")
    run = glue.get_job_run(JobName=JOB, RunId=started["JobRunId"])["JobRun"]
    script_uri = glue.get_job(JobName=JOB)["Job"]["Command"]["ScriptLocation"]
    # Glue hands the job its arguments as --name value pairs on the command line.
    arguments = [part for name, value in run["Arguments"].items() for part in (name, value)]
    return _run(_script_from_s3(script_uri, folder), arguments, {}) | {"arguments": run["Arguments"]}


def _run_emr_job(started: dict, folder: Path) -> dict:
    run = boto3.client("emr-serverless").get_job_run(
        applicationId=started["applicationId"], jobRunId=started["jobRunId"]
    )
    submit = run["jobRun"]["jobDriver"]["sparkSubmit"]
    # EMR Serverless sets spark.emr-serverless.driverEnv.NAME=value as the driver's environment.
    words = shlex.split(submit.get("sparkSubmitParameters", ""))
    prefix = "spark.emr-serverless.driverEnv."
    driver_env = dict(word.removeprefix(prefix).split("=", 1) for word in words if word.startswith(prefix))
    return _run(_script_from_s3(submit["entryPoint"], folder), [], driver_env) | {"driver_env": driver_env}


def _run(script: Path, arguments: list[str], extra_env: dict) -> dict:
    finished = subprocess.run(
        [str(SPARK_PYTHON), str(script), *arguments],
        env={**os.environ, **extra_env},
        capture_output=True,
        text=True,
        timeout=600,
    )
    print(finished.stdout[-3000:], finished.stderr[-3000:], file=sys.stderr)
    return {"returncode": finished.returncode}


def staging_metadata(result: dg.ExecuteInProcessResult, key: list[str]) -> dict:
    [event] = [e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey(key)]
    return {name: value.value for name, value in event.materialization.metadata.items()}


def test_a_glue_job_stages_the_month_and_reports_through_s3(aws, monkeypatch):
    glue = boto3.client("glue")
    glue.create_job(
        Name=JOB,
        Role="arn:aws:iam::123456789012:role/nyc-taxi-glue",
        Command={"Name": "glueetl", "ScriptLocation": SCRIPT_URI, "PythonVersion": "3"},
        GlueVersion="5.0",
        DefaultArguments={"--additional-python-modules": "dagster-pipes==1.13.27"},
    )
    monkeypatch.setenv("NYC_TAXI_GLUE_JOB", JOB)

    result = run_steps("glue", monkeypatch, "2020-01-01", "2020-01-01", assets=[STAGING])

    assert result.success, [str(e) for e in result.all_events if e.is_failure]
    [job] = aws
    assert job["returncode"] == 0
    assert {"--dagster-pipes-context", "--dagster-pipes-messages", "--additional-python-modules"} <= set(
        job["arguments"]
    )
    metadata = staging_metadata(result, ["staging", "green_trips"])
    assert metadata["rows"] == 400 and metadata["repeated_headers_skipped"] == 0  # from the job, through S3
    assert metadata["AWS Glue Job Name"] == JOB
    assert metadata["spark_version"].startswith("3.5")


def test_a_glue_job_running_another_script_is_refused(aws, monkeypatch):
    boto3.client("glue").create_job(
        Name=JOB,
        Role="arn:aws:iam::123456789012:role/nyc-taxi-glue",
        Command={"Name": "glueetl", "ScriptLocation": "s3://nyc-spark/old/job.py"},
    )
    monkeypatch.setenv("NYC_TAXI_GLUE_JOB", JOB)

    result = run_steps("glue", monkeypatch, "2020-01-01", "2020-01-01", assets=[STAGING])

    assert not result.success and aws == []
    errors = [str(e.event_specific_data.error) for e in result.all_events if e.is_step_failure]
    assert any(f"runs s3://nyc-spark/old/job.py, not {SCRIPT_URI}" in error for error in errors), errors


def test_an_emr_serverless_job_aggregates_the_month_and_reports_through_s3(aws, monkeypatch):
    emr = boto3.client("emr-serverless")
    application = emr.create_application(name="nyc-taxi", releaseLabel="emr-7.5.0", type="SPARK")["applicationId"]
    monkeypatch.setenv("NYC_TAXI_EMR_APPLICATION_ID", application)
    monkeypatch.setenv("NYC_TAXI_EMR_EXECUTION_ROLE_ARN", "arn:aws:iam::123456789012:role/nyc-taxi-emr")
    assert run_steps("duckdb", monkeypatch, "2020-01-01", "2020-01-01", assets=[STAGING]).success

    result = run_steps("emr-serverless", monkeypatch, "2020-01-01", "2020-01-01", assets=[GOLD])

    assert result.success, [str(e) for e in result.all_events if e.is_failure]
    [job] = aws
    assert job["returncode"] == 0 and "DAGSTER_PIPES_CONTEXT" in job["driver_env"]
    metadata = staging_metadata(result, ["gold", "fare_by_zone"])
    assert metadata["trips"] == 400 and metadata["groups"] > 0  # from the job, through S3
    assert metadata["AWS EMR Serverless Application ID"] == application
