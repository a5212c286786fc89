"""The Glue Data Catalog made exact, against moto's Glue and S3 on loopback: each month the lake steps write, on
either engine, is registered as the month's partition of green_trips and fare_by_zone at its folder, with the
table's columns; a re-run updates the partition, never adds one; without NYC_TAXI_GLUE_DATABASE nothing calls
Glue; a missing table and a local lake with a catalog are refused with what to do.

The database and tables are made here as the data stack makes them (columns from layout.py, the partition key
`month` left out of them). moto runs no Glue job: the Spark path's job is played by tests/nyc_taxi/duckdb_job.py
(the local Spark cannot read S3), through the same Pipes exchange.
"""

import hashlib
import subprocess
import sys
from pathlib import Path

import boto3
import dagster as dg
import pytest
from pydantic import ValidationError

from pipeline.defs.nyc_taxi.layout import FARE_BY_ZONE_COLUMNS, TRIP_COLUMNS, is_parquet_part
from pipeline.defs.nyc_taxi.sample_data import TaxiSpec, generate_months
from tests.conftest import upload_tree
from tests.nyc_taxi.test_spark_engine import GOLD, STAGING, run_steps
from tests.platform import definitions

REPO = Path(__file__).resolve().parents[2]
# layout.py's logical types as Glue's (Hive's) column types.
GLUE_TYPES = {
    "integer": "int",
    "bigint": "bigint",
    "double": "double",
    "text": "string",
    "timestamp": "timestamp",
    "date": "date",
}
TABLES = {"green_trips": ("staging/nyc/", TRIP_COLUMNS), "fare_by_zone": ("gold/nyc/", FARE_BY_ZONE_COLUMNS)}
PARQUET = {
    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"},
}
SCRIPT_URI = "s3://catalog-spark/jobs/month_job.py"
JOB = "nyc-taxi-month"


def columns(layout_columns) -> list[dict]:
    """The catalog table's columns: the layer's, but `month`, which is the partition key."""
    return [{"Name": name, "Type": GLUE_TYPES[kind]} for name, kind in layout_columns if name != "month"]


@pytest.fixture
def s3_lake(request, tmp_path, pipeline_env, s3_env, monkeypatch):
    """Two generated months in a bucket of the test's own (moto's server lives for the session), the lake there;
    a name of the test's own for its catalog database."""
    name = hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:12]
    bucket = f"catalog-{name}"
    generate_months(tmp_path / "nyc", TaxiSpec(months=2, trips_per_month=200))
    upload_tree(s3_env, tmp_path / "nyc", bucket, "nyc")
    monkeypatch.setenv("NYC_TAXI_DATA_URI", f"s3://{bucket}/nyc")
    return {"bucket": bucket, "database": f"lake_{name}", "s3": s3_env}


@pytest.fixture
def catalog(s3_lake, monkeypatch):
    """The database and both tables, as data.yaml declares them; NYC_TAXI_GLUE_DATABASE names the database."""
    glue, database = boto3.client("glue"), s3_lake["database"]
    glue.create_database(DatabaseInput={"Name": database})
    for table, (folder, layout_columns) in TABLES.items():
        glue.create_table(
            DatabaseName=database,
            TableInput={
                "Name": table,
                "TableType": "EXTERNAL_TABLE",
                "Parameters": {"classification": "parquet", "EXTERNAL": "TRUE"},
                "PartitionKeys": [{"Name": "month", "Type": "string"}],
                "StorageDescriptor": {
                    "Columns": columns(layout_columns),
                    "Location": f"s3://{s3_lake['bucket']}/nyc/{folder}",
                    **PARQUET,
                },
            },
        )
    monkeypatch.setenv("NYC_TAXI_GLUE_DATABASE", database)
    return s3_lake | {"glue": glue}


def partitions(glue, database: str, table: str) -> list[dict]:
    pages = glue.get_paginator("get_partitions").paginate(DatabaseName=database, TableName=table)
    return sorted((p for page in pages for p in page["Partitions"]), key=lambda p: p["Values"])


def parquet_parts(s3, location: str) -> list[str]:
    bucket, _, prefix = location.removeprefix("s3://").partition("/")
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return [item["Key"] for item in listed if is_parquet_part(item["Key"])]


def glue_partition(result: dg.ExecuteInProcessResult, key: dg.AssetKey) -> set:
    """What the asset's materializations (one a month) record as registered; None when nothing."""
    events = [e for e in result.get_asset_materialization_events() if e.asset_key == key]
    recorded = [event.materialization.metadata.get("glue_partition") for event in events]
    return {value.value if value else None for value in recorded}


def assert_exact(catalog: dict, months: list[str]) -> None:
    """Each table holds exactly these months, each at its folder (parquet there), with the table's columns and
    formats."""
    glue, database, bucket = catalog["glue"], catalog["database"], catalog["bucket"]
    for table, (folder, layout_columns) in TABLES.items():
        found = partitions(glue, database, table)
        assert [p["Values"] for p in found] == [[month] for month in months], table
        for partition, month in zip(found, months, strict=True):
            descriptor = partition["StorageDescriptor"]
            assert descriptor["Location"] == f"s3://{bucket}/nyc/{folder}{month}/"
            assert parquet_parts(catalog["s3"], descriptor["Location"]), f"no parquet at {descriptor['Location']}"
            assert descriptor["Columns"] == columns(layout_columns)
            assert {name: descriptor[name] for name in PARQUET} == PARQUET


def test_each_month_is_registered_once_at_its_folder_and_a_rerun_updates_it(catalog, monkeypatch):
    glue, database = catalog["glue"], catalog["database"]

    result = run_steps("duckdb", monkeypatch, "2020-01-01", "2020-02-01")

    assert result.success, [str(e) for e in result.all_events if e.is_failure]
    assert_exact(catalog, ["2020-01", "2020-02"])
    assert glue_partition(result, STAGING) == {
        f"{database}.green_trips/month=2020-01, {database}.green_trips/month=2020-02"
    }

    # A partition gone stale (another writer, an older layout): the month's re-run puts it back, and adds none.
    stale = partitions(glue, database, "fare_by_zone")[1]
    descriptor = {**stale["StorageDescriptor"], "Location": "s3://elsewhere/old/", "Columns": []}
    glue.update_partition(
        DatabaseName=database,
        TableName="fare_by_zone",
        PartitionValueList=["2020-02"],
        PartitionInput={"Values": ["2020-02"], "StorageDescriptor": descriptor},
    )
    again = run_steps("duckdb", monkeypatch, "2020-02-01", "2020-02-01")

    assert again.success, [str(e) for e in again.all_events if e.is_failure]
    assert_exact(catalog, ["2020-01", "2020-02"])
    assert glue_partition(again, GOLD) == {f"{database}.fare_by_zone/month=2020-02"}


def test_without_a_catalog_database_nothing_calls_glue(s3_lake, monkeypatch):
    session = boto3.session.Session()
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", session)  # every client the step makes comes from it
    glue_calls = []
    session.events.register("before-call.glue", lambda model, **_: glue_calls.append(model.name))

    result = run_steps("duckdb", monkeypatch, "2020-01-01", "2020-01-01")

    assert result.success, [str(e) for e in result.all_events if e.is_failure]
    assert glue_calls == []
    assert glue_partition(result, STAGING) == glue_partition(result, GOLD) == {None}
    assert parquet_parts(s3_lake["s3"], f"s3://{s3_lake['bucket']}/nyc/gold/nyc/2020-01/")


def test_a_missing_table_fails_the_step_naming_it_and_the_stack_that_creates_it(s3_lake, monkeypatch):
    boto3.client("glue").create_database(DatabaseInput={"Name": s3_lake["database"]})
    monkeypatch.setenv("NYC_TAXI_GLUE_DATABASE", s3_lake["database"])

    result = run_steps("duckdb", monkeypatch, "2020-01-01", "2020-01-01", assets=[STAGING])

    assert not result.success
    [error] = [str(e.event_specific_data.error) for e in result.all_events if e.is_step_failure]
    assert f"Glue table {s3_lake['database']}.green_trips not found" in error
    assert "deploy/cloudformation/data.yaml" in error


def test_a_catalog_of_a_local_lake_is_refused_when_the_code_loads(nyc_lake, monkeypatch):
    monkeypatch.setenv("NYC_TAXI_GLUE_DATABASE", "data_platform_lake")

    with pytest.raises(ValidationError, match="NYC_TAXI_GLUE_DATABASE") as refused:
        definitions()

    assert "a Glue catalog describes an S3 lake" in str(refused.value)


@pytest.fixture
def glue_job(catalog, monkeypatch):
    """The Glue engine on the S3 lake: the job moto records is run by duckdb_job.py with the job's arguments."""
    catalog["s3"].create_bucket(Bucket="catalog-spark")
    catalog["glue"].create_job(
        Name=JOB,
        Role="arn:aws:iam::123456789012:role/nyc-taxi-glue",
        Command={"Name": "glueetl", "ScriptLocation": SCRIPT_URI, "PythonVersion": "3"},
    )
    monkeypatch.setenv("NYC_TAXI_SPARK_SCRIPT_URI", SCRIPT_URI)
    monkeypatch.setenv("NYC_TAXI_GLUE_JOB", JOB)
    session = boto3.session.Session()
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", session)
    runs = []
    session.events.register("after-call.glue.StartJobRun", lambda parsed, **_: runs.append(_run_job(parsed)))
    return runs


def _run_job(started: dict) -> int:
    run = boto3.client("glue").get_job_run(JobName=JOB, RunId=started["JobRunId"])["JobRun"]
    arguments = [part for name, value in run["Arguments"].items() for part in (name, value)]
    finished = subprocess.run(
        [sys.executable, "-m", "tests.nyc_taxi.duckdb_job", *arguments], cwd=REPO, capture_output=True, text=True
    )
    print(finished.stdout[-3000:], finished.stderr[-3000:], file=sys.stderr)
    return finished.returncode


def test_the_spark_path_registers_the_months_its_job_wrote(catalog, glue_job, monkeypatch):
    result = run_steps("glue", monkeypatch, "2020-01-01", "2020-02-01")

    assert result.success, [str(e) for e in result.all_events if e.is_failure]
    assert glue_job == [0, 0]  # the two steps' jobs
    assert_exact(catalog, ["2020-01", "2020-02"])
    database = catalog["database"]
    assert glue_partition(result, GOLD) == {
        f"{database}.fare_by_zone/month=2020-01, {database}.fare_by_zone/month=2020-02"
    }
