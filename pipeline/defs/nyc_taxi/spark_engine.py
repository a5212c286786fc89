"""A step of the NYC-taxi pipeline run as spark/month_job.py through Dagster Pipes, on the engine NYC_TAXI_ENGINE
names: `spark` (a local Spark, the script in a subprocess), `glue` (an AWS Glue job) or `emr-serverless` (a job run
of an EMR Serverless application).

The months, their files' URIs (.csv, .csv.gz or .parquet) and the contract's columns go to the job in the Pipes
extras; what the job reports (rows, groups, fare) becomes the materialization's metadata. On AWS the
repository's script is uploaded to NYC_TAXI_SPARK_SCRIPT_URI before each launch, so the job always runs this
version of it, and the Pipes context and messages travel through that bucket (PipesS3ContextInjector,
PipesS3MessageReader).
"""

import sys
from pathlib import Path
from urllib.parse import urlparse

import boto3
import dagster as dg
from dagster_aws.pipes import (
    PipesEMRServerlessClient,
    PipesGlueClient,
    PipesS3ContextInjector,
    PipesS3MessageReader,
)

from pipeline.defs.nyc_taxi.lake_files import month_file
from pipeline.defs.nyc_taxi.layout import (
    CLEAR_EMPTY_MONTHS_TAG,
    CSV_COLUMNS,
    FARE_GROUPS,
    STAGED_FROM_CSV,
    fare_by_zone_folder,
    trips_folder,
)
from pipeline.defs.nyc_taxi.settings import NycTaxiSettings
from pipeline.lib.lake import DataLake, LocalLake

SCRIPT = Path(__file__).parent / "spark" / "month_job.py"
MESSAGE_INTERVAL = 2.0  # seconds between reads of the job's message chunks in S3


def step_extras(lake: DataLake, step: str, months, clear_empty: bool = False) -> dict:
    """What the job does: the step, each month's source and target URIs, the CSV's columns and their types, and
    whether a month of no trip is cleared (the run's tag) or refused."""
    if step == "stage":
        layers = [(month_file(lake, month), trips_folder(month)) for month in months]
        details = {
            "csv_columns": list(CSV_COLUMNS),
            "columns": [list(column) for column in STAGED_FROM_CSV],
            "clear_empty": clear_empty,
            "clear_empty_tag": CLEAR_EMPTY_MONTHS_TAG,
        }
    else:
        layers = [(trips_folder(month), fare_by_zone_folder(month)) for month in months]
        details = {"group_by": list(FARE_GROUPS)}
    return {
        "step": step,
        "months": [
            {"month": month.isoformat(), "source": lake.uri(source), "target": lake.uri(target)}
            for month, (source, target) in zip(months, layers, strict=True)
        ],
        **details,
    }


def run_step(
    context: dg.AssetExecutionContext,
    settings: NycTaxiSettings,
    lake: DataLake,
    step: str,
    months,
    clear_empty: bool = False,
) -> dg.MaterializeResult:
    """The step over the months on the engine; a month the job rejects fails the step with the job's reason."""
    extras = step_extras(lake, step, months, clear_empty)
    if settings.engine == "spark":
        invocation = _local(context, settings, lake, extras)
    elif settings.engine == "glue":
        invocation = _glue(context, settings, extras)
    else:
        invocation = _emr_serverless(context, settings, extras)
    for message in invocation.get_custom_messages():
        if isinstance(message, dict) and "rejected" in message:
            raise dg.Failure(
                f"{context.asset_key.to_user_string()} not written, nothing changed: {message['rejected']}",
                allow_retries=False,
            )
    return invocation.get_materialize_result()


def _local(context, settings: NycTaxiSettings, lake: DataLake, extras: dict):
    if not isinstance(lake, LocalLake):
        raise dg.Failure(
            "NYC_TAXI_ENGINE=spark runs Spark on this machine, which reads a local NYC_TAXI_DATA_URI only; "
            "for an s3:// lake use glue or emr-serverless (docs/nyc_taxi.md)",
            allow_retries=False,
        )
    python = settings.spark_python or sys.executable
    return dg.PipesSubprocessClient().run(command=[python, str(SCRIPT)], context=context, extras=extras)


def _script_in_s3(settings: NycTaxiSettings) -> tuple[str, str, object]:
    """The repository's script put at NYC_TAXI_SPARK_SCRIPT_URI: (its URI, the bucket, the S3 client)."""
    uri = settings.spark_script_uri
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc or not parsed.path.endswith(".py"):
        raise dg.Failure(
            f"NYC_TAXI_SPARK_SCRIPT_URI={uri!r}: give the s3://bucket/key.py the Spark job runs", allow_retries=False
        )
    s3 = boto3.client("s3")
    s3.put_object(Bucket=parsed.netloc, Key=parsed.path.lstrip("/"), Body=SCRIPT.read_bytes())
    return uri, parsed.netloc, s3


def _pipes_io(bucket: str, s3) -> dict:
    return {
        "context_injector": PipesS3ContextInjector(bucket=bucket, client=s3),
        "message_reader": PipesS3MessageReader(bucket=bucket, client=s3, interval=MESSAGE_INTERVAL),
    }


def _glue(context, settings: NycTaxiSettings, extras: dict):
    job = _required(settings, "glue_job")
    script, bucket, s3 = _script_in_s3(settings)
    glue = boto3.client("glue")
    # The job's script is part of its definition: a job that runs another file would not honour this contract.
    location = glue.get_job(JobName=job)["Job"]["Command"]["ScriptLocation"]
    if location != script:
        raise dg.Failure(
            f"Glue job {job} runs {location}, not {script} (NYC_TAXI_SPARK_SCRIPT_URI) where the pipeline puts "
            "spark/month_job.py: set the job's script location to it",
            allow_retries=False,
        )
    client = PipesGlueClient(client=glue, **_pipes_io(bucket, s3))
    return client.run(context=context, start_job_run_params={"JobName": job}, extras=extras)


def _emr_serverless(context, settings: NycTaxiSettings, extras: dict):
    application, role = _required(settings, "emr_application_id"), _required(settings, "emr_execution_role_arn")
    script, bucket, s3 = _script_in_s3(settings)
    client = PipesEMRServerlessClient(client=boto3.client("emr-serverless"), **_pipes_io(bucket, s3))
    months = extras["months"]
    params = {
        "applicationId": application,
        "executionRoleArn": role,
        "name": f"nyc_taxi {extras['step']} {months[0]['month'][:7]}..{months[-1]['month'][:7]}",
        "jobDriver": {"sparkSubmit": {"entryPoint": script, "sparkSubmitParameters": settings.emr_spark_parameters}},
    }
    return client.run(context=context, start_job_run_params=params, extras=extras)


def _required(settings: NycTaxiSettings, field: str) -> str:
    value = getattr(settings, field)
    if not value:
        variable = NycTaxiSettings.model_fields[field].validation_alias
        raise dg.Failure(f"NYC_TAXI_ENGINE={settings.engine} needs {variable} (docs/nyc_taxi.md)", allow_retries=False)
    return value
