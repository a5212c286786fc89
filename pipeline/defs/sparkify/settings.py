"""Sparkify's own configuration: its lake, its schemas, its first day, its sensor and schedule (SPARKIFY_*)."""

import datetime as dt
from typing import Literal

from pydantic import Field, PositiveFloat, PositiveInt

from pipeline.lib.history_checks import VolumeAnomaly
from pipeline.lib.settings import LOCAL_DIR, LoadSchemaName, PipelineSettings, SchemaName


class SparkifySettings(PipelineSettings):
    data_uri: str = Field(str(LOCAL_DIR / "lake"), validation_alias="SPARKIFY_DATA_URI")
    staging_schema: LoadSchemaName = Field("staging", validation_alias="SPARKIFY_STAGING_SCHEMA")
    analytics_schema: SchemaName = Field("analytics", validation_alias="SPARKIFY_ANALYTICS_SCHEMA")
    # The daily partitions start here: the UI counts progress against them, so a lake that starts later sets it.
    first_day: dt.date = Field(dt.date(2018, 11, 1), validation_alias="SPARKIFY_FIRST_DAY")
    schedule_cron: str = Field("15 0 * * *", validation_alias="SPARKIFY_SCHEDULE_CRON")
    schedule_catchup_days: PositiveInt = Field(7, validation_alias="SPARKIFY_SCHEDULE_CATCHUP_DAYS")
    sensor_lookback_days: PositiveInt = Field(3, validation_alias="SPARKIFY_SENSOR_LOOKBACK_DAYS")
    sensor_interval_seconds: PositiveInt = Field(300, validation_alias="SPARKIFY_SENSOR_INTERVAL_SECONDS")
    # staging_events' volume-anomaly check (docs/running-unattended.md): how many earlier days of the same weekday
    # it needs and compares a day with, the robust score above which it fails, and its severity then (never
    # blocking: what depends on the table still runs).
    anomaly_history: PositiveInt = Field(8, validation_alias="SPARKIFY_ANOMALY_HISTORY")
    anomaly_threshold: PositiveFloat = Field(5.0, validation_alias="SPARKIFY_ANOMALY_THRESHOLD")
    anomaly_severity: Literal["warn", "error"] = Field("warn", validation_alias="SPARKIFY_ANOMALY_SEVERITY")

    def volume_anomaly(self) -> VolumeAnomaly:
        return VolumeAnomaly(self.anomaly_history, self.anomaly_threshold, self.anomaly_severity)
