"""Sparkify's own configuration: its lake, its schemas, its sensor and schedule (SPARKIFY_* variables).

Declared with the platform's settings (pipeline/lib/settings.py), so `env()` knows their defaults and
dbt, which reads the schema names in sources.yml and dbt_project.yml, sees the same values.
"""

from dataclasses import dataclass

from pipeline.lib.settings import LOCAL_DIR, declare_defaults, declare_load_schemas, env
from pipeline.lib.warehouse.identifiers import checked_identifier

declare_defaults(
    {
        "SPARKIFY_DATA_URI": str(LOCAL_DIR / "lake"),
        "SPARKIFY_STAGING_SCHEMA": "staging",
        "SPARKIFY_ANALYTICS_SCHEMA": "analytics",
        "SPARKIFY_FIRST_DAY": "2018-11-01",
        "SPARKIFY_SCHEDULE_CRON": "15 0 * * *",
        "SPARKIFY_SCHEDULE_CATCHUP_DAYS": "7",
        "SPARKIFY_SENSOR_LOOKBACK_DAYS": "3",
        "SPARKIFY_SENSOR_INTERVAL_SECONDS": "300",
    }
)


@dataclass(frozen=True)
class SparkifySettings:
    data_uri: str
    staging_schema: str
    analytics_schema: str

    @classmethod
    def from_env(cls) -> "SparkifySettings":
        return cls(
            data_uri=env("SPARKIFY_DATA_URI"),
            staging_schema=checked_identifier(env("SPARKIFY_STAGING_SCHEMA"), "schema name (SPARKIFY_STAGING_SCHEMA)"),
            analytics_schema=checked_identifier(
                env("SPARKIFY_ANALYTICS_SCHEMA"), "schema name (SPARKIFY_ANALYTICS_SCHEMA)"
            ),
        )


declare_load_schemas(SparkifySettings.from_env().staging_schema)
