"""The weather pipeline's configuration (its API endpoints, rate limit, lake and schemas), declared with the
platform's settings so `env()` knows the defaults and dbt sees the same schema names.

The API keys are secrets: the resource reads them with `dg.EnvVar` (deploy: from SSM Parameter Store into
the environment, as the other secrets), never from here.
"""

from pipeline.lib.settings import LOCAL_DIR, declare_defaults, declare_load_schemas, env
from pipeline.lib.warehouse.identifiers import checked_identifier

declare_defaults(
    {
        # Unset by default: a fresh clone points them at the demo API (`make demo`), production at the real ones.
        "CITIES_API_URL": "",
        "WEATHER_API_URL": "",
        "COCKTAILS_API_URL": "",
        "WEATHER_API_HOST": "",
        "COCKTAILS_API_HOST": "",
        # Secrets: empty unless set (never a value here); sent only when set.
        "WEATHER_API_KEY": "",
        "COCKTAILS_API_KEY": "",
        "API_REQUESTS_PER_SECOND": "5",
        "API_DATA_URI": str(LOCAL_DIR / "api_data"),
        "WEATHER_STAGING_SCHEMA": "api_staging",
        "WEATHER_ANALYTICS_SCHEMA": "api_analytics",
        # The original DAG's start; the hourly partitions begin here.
        "WEATHER_FIRST_HOUR": "2024-01-04-11:00",
        # How long after its start an hour may still be fetched: the APIs serve only *current* weather and
        # the latest drinks, so an older hour is reloaded from the lake, never refetched.
        "WEATHER_FETCH_HOURS": "2",
    }
)

STAGING_SCHEMA = checked_identifier(env("WEATHER_STAGING_SCHEMA"), "schema name (WEATHER_STAGING_SCHEMA)")
ANALYTICS_SCHEMA = checked_identifier(env("WEATHER_ANALYTICS_SCHEMA"), "schema name (WEATHER_ANALYTICS_SCHEMA)")
declare_load_schemas(STAGING_SCHEMA)
