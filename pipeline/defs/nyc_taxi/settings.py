"""The NYC-taxi pipeline's configuration: where the month files are, which engine transforms them, its schemas."""

from pipeline.lib.settings import LOCAL_DIR, declare_defaults, declare_load_schemas, env
from pipeline.lib.warehouse.identifiers import checked_identifier

declare_defaults(
    {
        # Month files raw/nyc/green_tripdata_YYYY-MM.csv; staging/ and gold/ parquet are written beside them.
        "NYC_TAXI_DATA_URI": str(LOCAL_DIR / "nyc_taxi"),
        # duckdb (this process) locally; glue or emr-serverless (the PySpark scripts in spark/) in production.
        "NYC_TAXI_ENGINE": "duckdb",
        "NYC_TAXI_SCHEMA": "nyc",  # the loaded tables: main_data (the aggregate), green_trips (typed trips)
        "NYC_TAXI_ANALYTICS_SCHEMA": "nyc_analytics",  # dbt: calendar_date, nyc_taxi
        # The first monthly partition; the originals' data starts with 2020.
        "NYC_TAXI_FIRST_MONTH": "2020-01-01",
    }
)

SCHEMA = checked_identifier(env("NYC_TAXI_SCHEMA"), "schema name (NYC_TAXI_SCHEMA)")
ANALYTICS_SCHEMA = checked_identifier(env("NYC_TAXI_ANALYTICS_SCHEMA"), "schema name (NYC_TAXI_ANALYTICS_SCHEMA)")
declare_load_schemas(SCHEMA)
