"""The month-file sensor, evaluated as the daemon would over moto's S3: each month once, again when its file is
replaced, never a month without a partition."""

import datetime as dt

import dagster as dg
import pytest

from pipeline.defs.nyc_taxi.layout import csv_key, month_file_key
from pipeline.lib.lake import DataLakeResource
from tests.platform import default_definitions, definitions

BUCKET = "taxi-sensor"


def tick(cursor: str | None, bucket: str = BUCKET) -> dg.SensorResult:
    lake = DataLakeResource(data_uri=f"s3://{bucket}/nyc")
    with dg.build_sensor_context(cursor=cursor, resources={"nyc_lake": lake}) as context:
        return default_definitions().resolve_sensor_def("new_month_files_sensor")(context)


def put(s3, key: str, body: bytes = b"VendorID\n", bucket: str = BUCKET) -> None:
    s3.put_object(Bucket=bucket, Key=f"nyc/{key}", Body=body)


def test_each_month_is_requested_once_and_again_only_when_its_file_is_replaced(s3_env, pipeline_env):
    s3_env.create_bucket(Bucket=BUCKET)
    for month in ("2020-01", "2020-02"):
        put(s3_env, csv_key(dt.date.fromisoformat(f"{month}-01")))
    put(s3_env, "raw/nyc/readme.txt")  # not a month file: ignored
    put(s3_env, csv_key(dt.date(2019, 12, 1)))  # before NYC_TAXI_FIRST_MONTH: no partition
    this_month = dt.date.today().replace(day=1)
    put(s3_env, csv_key(this_month))  # still under way: its partition does not exist yet

    first = tick(None)
    assert [r.partition_key for r in first.run_requests] == ["2020-01-01", "2020-02-01"]
    assert all(r.job_name in (None, "nyc_taxi_monthly") for r in first.run_requests)

    second = tick(first.cursor)
    assert second.run_requests == [] and second.cursor == first.cursor

    put(s3_env, csv_key(dt.date(2020, 2, 1)), b"VendorID\n1\n")  # the TLC republished February
    put(s3_env, csv_key(dt.date(2020, 3, 1)))
    third = tick(second.cursor)
    assert [r.partition_key for r in third.run_requests] == ["2020-02-01", "2020-03-01"]
    assert third.run_requests[0].run_key != first.run_requests[1].run_key
    assert tick(third.cursor).run_requests == []


def test_the_last_month_ends_the_partitions_and_a_later_file_waits(s3_env, pipeline_env):
    """NYC_TAXI_LAST_MONTH (what the demo records): the months up to it are the partitions, a later month's file
    is not requested; a day other than the 1st, or a month before the first, is refused naming the variable."""
    s3_env.create_bucket(Bucket=BUCKET)
    for month in ("2020-01", "2020-02", "2020-03"):
        put(s3_env, csv_key(dt.date.fromisoformat(f"{month}-01")))
    defs = definitions({"NYC_TAXI_LAST_MONTH": "2020-02-01"})
    assert defs.resolve_job_def("nyc_taxi_monthly").partitions_def.get_partition_keys() == ["2020-01-01", "2020-02-01"]
    lake = DataLakeResource(data_uri=f"s3://{BUCKET}/nyc")
    with dg.build_sensor_context(resources={"nyc_lake": lake}) as context:
        ticked = defs.resolve_sensor_def("new_month_files_sensor")(context)
    assert [r.partition_key for r in ticked.run_requests] == ["2020-01-01", "2020-02-01"]

    with pytest.raises(ValueError, match=r"NYC_TAXI_LAST_MONTH\n.*a month's first day"):
        definitions({"NYC_TAXI_LAST_MONTH": "2020-02-15"})
    with pytest.raises(ValueError, match=r"NYC_TAXI_LAST_MONTH\n.*before NYC_TAXI_FIRST_MONTH"):
        definitions({"NYC_TAXI_FIRST_MONTH": "2020-03-01", "NYC_TAXI_LAST_MONTH": "2020-02-01"})


def test_a_month_is_seen_in_each_format_and_once_when_it_has_two(s3_env, pipeline_env):
    bucket = "taxi-sensor-formats"  # a bucket of its own: the other tests' months are .csv files
    s3_env.create_bucket(Bucket=bucket)
    formats = {"2020-01": "csv", "2020-02": "csv.gz", "2020-03": "parquet"}
    for month, month_format in formats.items():
        put(s3_env, month_file_key(dt.date.fromisoformat(f"{month}-01"), month_format), bucket=bucket)

    first = tick(None, bucket)
    assert [r.partition_key for r in first.run_requests] == ["2020-01-01", "2020-02-01", "2020-03-01"]

    # March gets a second file: one request (its run fails naming both), and none again while both are there.
    put(s3_env, month_file_key(dt.date(2020, 3, 1), "csv"), bucket=bucket)
    second = tick(first.cursor, bucket)
    assert [r.partition_key for r in second.run_requests] == ["2020-03-01"]
    assert tick(second.cursor, bucket).run_requests == []
