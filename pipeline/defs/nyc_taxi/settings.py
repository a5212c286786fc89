"""The NYC-taxi pipeline's configuration: where the month files are, which engine transforms them, its schemas."""

from pipeline.lib.settings import LOCAL_DIR, declare_defaults, declare_load_schemas, env
from pipeline.lib.warehouse.identifiers import checked_identifier

declare_defaults(
    {
        # Month files raw/nyc/green_tripdata_YYYY-MM.csv; staging/ and gold/ parquet are written beside them.
        "NYC_TAXI_DATA_URI": str(LOCAL_DIR / "nyc_taxi"),
        # duckdb (this process) locally; glue or emr-serverless (spark/month_job.py through Dagster Pipes) in
        # production; spark runs that script on a local Spark.
        "NYC_TAXI_ENGINE": "duckdb",
        "NYC_TAXI_SPARK_PYTHON": "",  # spark: the Python with pyspark that runs the script (default: this one)
        # glue and emr-serverless: where the pipeline puts spark/month_job.py before each launch; the Pipes
        # context and messages go through the same bucket.
        "NYC_TAXI_SPARK_SCRIPT_URI": "",
        "NYC_TAXI_GLUE_JOB": "",  # glue: the job's name (its script location is NYC_TAXI_SPARK_SCRIPT_URI)
        "NYC_TAXI_EMR_APPLICATION_ID": "",  # emr-serverless: the Spark application
        "NYC_TAXI_EMR_EXECUTION_ROLE_ARN": "",  # emr-serverless: the role the job runs as
        "NYC_TAXI_EMR_SPARK_PARAMETERS": "",  # emr-serverless: spark-submit parameters (the dagster-pipes archive)
        "NYC_TAXI_SCHEMA": "nyc",  # the loaded tables: main_data (the aggregate), green_trips (typed trips)
        "NYC_TAXI_ANALYTICS_SCHEMA": "nyc_analytics",  # dbt: calendar_date, nyc_taxi
        # The first monthly partition; the originals' data starts with 2020.
        "NYC_TAXI_FIRST_MONTH": "2020-01-01",
        "NYC_TAXI_SENSOR_INTERVAL_SECONDS": "300",  # how often new_month_files_sensor lists raw/nyc/
    }
)

SCHEMA = checked_identifier(env("NYC_TAXI_SCHEMA"), "schema name (NYC_TAXI_SCHEMA)")
ANALYTICS_SCHEMA = checked_identifier(env("NYC_TAXI_ANALYTICS_SCHEMA"), "schema name (NYC_TAXI_ANALYTICS_SCHEMA)")
declare_load_schemas(SCHEMA)
