"""The NYC-taxi pipeline's configuration: where the month files are, which engine transforms them, its schemas."""

import datetime as dt
from typing import Literal

from pydantic import Field, PositiveFloat, PositiveInt, ValidationInfo, field_validator

from pipeline.lib.history_checks import VolumeAnomaly
from pipeline.lib.settings import LOCAL_DIR, LoadSchemaName, PipelineSettings, SchemaName


class NycTaxiSettings(PipelineSettings):
    # Month files raw/nyc/green_tripdata_YYYY-MM.csv; staging/ and gold/ parquet are written beside them.
    data_uri: str = Field(str(LOCAL_DIR / "nyc_taxi"), validation_alias="NYC_TAXI_DATA_URI")
    # duckdb (this process) locally; glue or emr-serverless (spark/month_job.py through Dagster Pipes) in
    # production; spark runs that script on a local Spark.
    engine: Literal["duckdb", "spark", "glue", "emr-serverless"] = Field("duckdb", validation_alias="NYC_TAXI_ENGINE")
    spark_python: str = Field("", validation_alias="NYC_TAXI_SPARK_PYTHON")  # spark: the Python with pyspark
    # glue and emr-serverless: where the pipeline puts spark/month_job.py before each launch; the Pipes
    # context and messages go through the same bucket.
    spark_script_uri: str = Field("", validation_alias="NYC_TAXI_SPARK_SCRIPT_URI")
    glue_job: str = Field("", validation_alias="NYC_TAXI_GLUE_JOB")  # glue: the job's name
    emr_application_id: str = Field("", validation_alias="NYC_TAXI_EMR_APPLICATION_ID")
    emr_execution_role_arn: str = Field("", validation_alias="NYC_TAXI_EMR_EXECUTION_ROLE_ARN")
    emr_spark_parameters: str = Field("", validation_alias="NYC_TAXI_EMR_SPARK_PARAMETERS")  # the pipes archive
    load_schema: LoadSchemaName = Field("nyc", validation_alias="NYC_TAXI_SCHEMA")  # main_data, green_trips
    analytics_schema: SchemaName = Field("nyc_analytics", validation_alias="NYC_TAXI_ANALYTICS_SCHEMA")
    # The first monthly partition; the originals' data starts with 2020.
    first_month: dt.date = Field(dt.date(2020, 1, 1), validation_alias="NYC_TAXI_FIRST_MONTH")
    # The last monthly partition, for a lake that holds a fixed set of months (the demo's three); empty: every
    # month up to the last one ended.
    last_month: dt.date | None = Field(None, validation_alias="NYC_TAXI_LAST_MONTH")
    sensor_interval_seconds: PositiveInt = Field(300, validation_alias="NYC_TAXI_SENSOR_INTERVAL_SECONDS")
    # The Glue Data Catalog database whose tables green_trips and fare_by_zone get each month written as a
    # partition (month=YYYY-MM); empty: no catalog (the laptop default).
    glue_database: str = Field("", validation_alias="NYC_TAXI_GLUE_DATABASE")
    # green_trips' volume-anomaly check (docs/running-unattended.md): how many earlier months it needs and
    # compares a month with, the robust score above which it fails, and its severity then (never blocking).
    anomaly_history: PositiveInt = Field(12, validation_alias="NYC_TAXI_ANOMALY_HISTORY")
    anomaly_threshold: PositiveFloat = Field(5.0, validation_alias="NYC_TAXI_ANOMALY_THRESHOLD")
    anomaly_severity: Literal["warn", "error"] = Field("warn", validation_alias="NYC_TAXI_ANOMALY_SEVERITY")

    def volume_anomaly(self) -> VolumeAnomaly:
        return VolumeAnomaly(self.anomaly_history, self.anomaly_threshold, self.anomaly_severity)

    @field_validator("first_month", "last_month")
    @classmethod
    def _first_day_of_a_month(cls, value: dt.date | None) -> dt.date | None:
        if value is not None and value.day != 1:
            raise ValueError(f"a month's first day (YYYY-MM-01), not {value}")
        return value

    @field_validator("last_month")
    @classmethod
    def _not_before_the_first(cls, value: dt.date | None, info: ValidationInfo) -> dt.date | None:
        first = info.data.get("first_month")
        if value is not None and first is not None and value < first:
            raise ValueError(f"{value} is before NYC_TAXI_FIRST_MONTH ({first})")
        return value

    @field_validator("glue_database")
    @classmethod
    def _catalog_of_an_s3_lake(cls, value: str, info: ValidationInfo) -> str:
        """A catalog's readers (Athena, Redshift Spectrum) read S3: a partition at a path on this machine would
        be a location none of them can open, so a local lake with a catalog is refused when the code loads."""
        data_uri = info.data.get("data_uri", "")
        if value and not data_uri.startswith("s3://"):
            raise ValueError(
                f"a Glue catalog describes an S3 lake, and NYC_TAXI_DATA_URI is {data_uri!r}: set it to "
                "s3://bucket/prefix, or leave NYC_TAXI_GLUE_DATABASE empty"
            )
        return value
