"""The weather pipeline's configuration: its API endpoints, rate limit, lake, schemas and first hour.

The API keys are secrets, not settings: the resource reads them by reference (`dg.EnvVar`; deploy: from SSM
Parameter Store into the environment, as the other secrets).
"""

import datetime as dt
from typing import Literal

from pydantic import Field, PositiveFloat, PositiveInt, field_validator

from pipeline.lib.history_checks import VolumeAnomaly
from pipeline.lib.settings import LOCAL_DIR, LoadSchemaName, PipelineSettings, SchemaName


class WeatherSettings(PipelineSettings):
    # Unset by default: a fresh clone points them at the demo API (`make demo`), production at the real ones.
    cities_api_url: str = Field("", validation_alias="CITIES_API_URL")
    weather_api_url: str = Field("", validation_alias="WEATHER_API_URL")
    cocktails_api_url: str = Field("", validation_alias="COCKTAILS_API_URL")
    weather_api_host: str = Field("", validation_alias="WEATHER_API_HOST")  # RapidAPI's host header, when set
    cocktails_api_host: str = Field("", validation_alias="COCKTAILS_API_HOST")
    requests_per_second: PositiveFloat = Field(5, validation_alias="API_REQUESTS_PER_SECOND")  # per API
    # Each request's total deadline, connecting to the last byte of the body (a trickling body ends there).
    request_deadline_seconds: PositiveFloat = Field(30, validation_alias="API_REQUEST_DEADLINE_SECONDS")
    data_uri: str = Field(str(LOCAL_DIR / "api_data"), validation_alias="API_DATA_URI")
    staging_schema: LoadSchemaName = Field("api_staging", validation_alias="WEATHER_STAGING_SCHEMA")
    analytics_schema: SchemaName = Field("api_analytics", validation_alias="WEATHER_ANALYTICS_SCHEMA")
    # The original DAG's start; the hourly partitions begin here.
    first_hour: str = Field("2024-01-04-11:00", validation_alias="WEATHER_FIRST_HOUR")
    # How long after its start an hour may still be fetched: the APIs serve only *current* weather and
    # the latest drinks, so an older hour is reloaded from the lake, never refetched.
    fetch_hours: PositiveFloat = Field(2, validation_alias="WEATHER_FETCH_HOURS")
    # weather_stage's volume-anomaly check (docs/running-unattended.md): how many earlier days' same hour it needs
    # and compares an hour with, the robust score above which it fails, and its severity then (never blocking).
    anomaly_history: PositiveInt = Field(14, validation_alias="WEATHER_ANOMALY_HISTORY")
    anomaly_threshold: PositiveFloat = Field(5.0, validation_alias="WEATHER_ANOMALY_THRESHOLD")
    anomaly_severity: Literal["warn", "error"] = Field("warn", validation_alias="WEATHER_ANOMALY_SEVERITY")

    def volume_anomaly(self) -> VolumeAnomaly:
        return VolumeAnomaly(self.anomaly_history, self.anomaly_threshold, self.anomaly_severity)

    @field_validator("first_hour")
    @classmethod
    def _hour_key(cls, value: str) -> str:
        """Dagster's hourly partition key (2024-01-04-11:00), as the UI and `dagster job backfill` print it."""
        dt.datetime.strptime(value, "%Y-%m-%d-%H:%M")  # a ValueError names the variable and the value
        return value
