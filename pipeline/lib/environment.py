"""What this environment runs against, picked in one place from the settings: the deployment (local or prod),
the warehouse (one resource per warehouse, in one table) and how runs execute on it.

On a laptop, sensors start stopped: opening the UI must not set off runs by itself. In production they
start running, so a fresh deployment is unattended from its first minute.
"""

import dagster as dg

from pipeline.lib.settings import Settings
from pipeline.lib.warehouse import Warehouse


def sensor_default_status(settings: Settings) -> dg.DefaultSensorStatus:
    return dg.DefaultSensorStatus.RUNNING if settings.deployment == "prod" else dg.DefaultSensorStatus.STOPPED


def _secret(settings: Settings, name: str) -> dg.EnvVar | None:
    """A password by reference: Dagster reads it from the environment when the resource is used."""
    return dg.EnvVar(name) if settings.is_set(name) else None


def _optional(settings: Settings, name: str) -> str | None:
    return settings.variable(name) or None


# Each warehouse's module (and its client library) is imported only when that warehouse is chosen.


def _duckdb(settings: Settings) -> Warehouse:
    from pipeline.lib.warehouse import DuckDBWarehouse

    return DuckDBWarehouse(path=settings.duckdb_path, extension_dir=settings.duckdb_extension_dir)


def _postgres(settings: Settings) -> Warehouse:
    from pipeline.lib.warehouse.postgres import PostgresWarehouse

    return PostgresWarehouse(
        host=settings.variable("POSTGRES_HOST"),
        port=int(settings.variable("POSTGRES_PORT")),
        user=settings.variable("POSTGRES_USER"),
        password=_secret(settings, "POSTGRES_PASSWORD"),
        database=settings.variable("POSTGRES_DB"),
        extension_dir=settings.duckdb_extension_dir,
    )


def _redshift(settings: Settings) -> Warehouse:
    from pipeline.lib.warehouse.redshift import RedshiftWarehouse

    return RedshiftWarehouse(
        host=dg.EnvVar("REDSHIFT_HOST"),  # no default: read when a run uses it, so a missing host says its name
        port=int(settings.variable("REDSHIFT_PORT")),
        user=dg.EnvVar("REDSHIFT_USER"),
        password=_secret(settings, "REDSHIFT_PASSWORD"),
        database=settings.variable("REDSHIFT_DATABASE"),
        iam_role=_optional(settings, "REDSHIFT_IAM_ROLE"),
        copy_role_arn=_optional(settings, "REDSHIFT_COPY_ROLE_ARN"),
        s3_region=_optional(settings, "REDSHIFT_S3_REGION"),
        manifest_prefix=_optional(settings, "REDSHIFT_MANIFEST_PREFIX"),
    )


def _snowflake(settings: Settings) -> Warehouse:
    from dagster_snowflake import SnowflakeResource

    from pipeline.lib.warehouse.snowflake import SnowflakeWarehouse

    return SnowflakeWarehouse(
        snowflake=SnowflakeResource(
            account=dg.EnvVar("SNOWFLAKE_ACCOUNT"),
            user=dg.EnvVar("SNOWFLAKE_USER"),
            password=_secret(settings, "SNOWFLAKE_PASSWORD"),
            private_key_path=_optional(settings, "SNOWFLAKE_PRIVATE_KEY_PATH"),
            private_key_password=_secret(settings, "SNOWFLAKE_PRIVATE_KEY_PASSWORD"),
            role=_optional(settings, "SNOWFLAKE_ROLE"),
            warehouse=settings.variable("SNOWFLAKE_WAREHOUSE"),
            database=settings.variable("SNOWFLAKE_DATABASE"),
        ),
        storage_integration=_optional(settings, "SNOWFLAKE_STORAGE_INTEGRATION"),
        stage_aws_key_id=_secret(settings, "SNOWFLAKE_STAGE_AWS_KEY_ID"),
        stage_aws_secret_key=_secret(settings, "SNOWFLAKE_STAGE_AWS_SECRET_KEY"),
    )


def _bigquery(settings: Settings) -> Warehouse:
    from pipeline.lib.warehouse.bigquery import BigQueryWarehouse
    from pipeline.lib.warehouse.gcp_clients import EMULATOR_HOST, bigquery_resource, gcs_resource

    return BigQueryWarehouse(
        bigquery=bigquery_resource(settings.variable("BIGQUERY_LOCATION"), _optional(settings, EMULATOR_HOST)),
        gcs=gcs_resource(),
        staging_bucket=_optional(settings, "BIGQUERY_STAGING_BUCKET"),
        extension_dir=settings.duckdb_extension_dir,
    )


WAREHOUSE_RESOURCES = {
    "duckdb": _duckdb,
    "postgres": _postgres,
    "redshift": _redshift,
    "snowflake": _snowflake,
    "bigquery": _bigquery,
}


def warehouse_resource(settings: Settings) -> Warehouse:
    return WAREHOUSE_RESOURCES[settings.warehouse](settings)


def executor_for(warehouse: Warehouse) -> dg.ExecutorDefinition:
    # An embedded database file takes one writer at a time: run the steps one after another in one
    # process. Server warehouses take the steps in parallel processes.
    if warehouse.allows_concurrent_writers:
        return dg.multiprocess_executor
    return dg.in_process_executor
