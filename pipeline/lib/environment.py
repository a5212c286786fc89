"""What this environment runs against, picked in one place: the deployment (DAGSTER_DEPLOYMENT=local|prod),
the warehouse named by `WAREHOUSE` (one resource per warehouse, in one table) and how runs execute on it.

On a laptop, sensors start stopped: opening the UI must not set off runs by itself. In production they
start running, so a fresh deployment is unattended from its first minute.
"""

import os

import dagster as dg

from pipeline.lib.settings import Settings, env
from pipeline.lib.warehouse import Warehouse

DEPLOYMENTS = ("local", "prod")


def deployment() -> str:
    name = env("DAGSTER_DEPLOYMENT").lower()
    if name not in DEPLOYMENTS:
        raise ValueError(f"DAGSTER_DEPLOYMENT={name!r}: choose one of {', '.join(DEPLOYMENTS)}")
    return name


def sensor_default_status() -> dg.DefaultSensorStatus:
    return dg.DefaultSensorStatus.RUNNING if deployment() == "prod" else dg.DefaultSensorStatus.STOPPED


def _secret(name: str) -> dg.EnvVar | None:
    """A password by reference: Dagster reads it from the environment when the resource is used."""
    return dg.EnvVar(name) if os.environ.get(name) else None


def _optional(name: str) -> str | None:
    return os.environ.get(name) or None


# Each warehouse's module (and its client library) is imported only when that warehouse is chosen.


def _duckdb() -> Warehouse:
    from pipeline.lib.warehouse import DuckDBWarehouse

    return DuckDBWarehouse(path=dg.EnvVar("DUCKDB_PATH"), extension_dir=dg.EnvVar("DUCKDB_EXTENSION_DIR"))


def _postgres() -> Warehouse:
    from pipeline.lib.warehouse.postgres import PostgresWarehouse

    return PostgresWarehouse(
        host=dg.EnvVar("POSTGRES_HOST"),
        port=dg.EnvVar.int("POSTGRES_PORT"),
        user=dg.EnvVar("POSTGRES_USER"),
        password=_secret("POSTGRES_PASSWORD"),
        database=dg.EnvVar("POSTGRES_DB"),
        extension_dir=dg.EnvVar("DUCKDB_EXTENSION_DIR"),
    )


def _redshift() -> Warehouse:
    from pipeline.lib.warehouse.redshift import RedshiftWarehouse

    return RedshiftWarehouse(
        host=dg.EnvVar("REDSHIFT_HOST"),
        port=dg.EnvVar.int("REDSHIFT_PORT"),
        user=dg.EnvVar("REDSHIFT_USER"),
        password=_secret("REDSHIFT_PASSWORD"),
        database=dg.EnvVar("REDSHIFT_DATABASE"),
        iam_role=_optional("REDSHIFT_IAM_ROLE"),
        copy_role_arn=_optional("REDSHIFT_COPY_ROLE_ARN"),
        s3_region=_optional("REDSHIFT_S3_REGION"),
        manifest_prefix=_optional("REDSHIFT_MANIFEST_PREFIX"),
    )


def _snowflake() -> Warehouse:
    from dagster_snowflake import SnowflakeResource

    from pipeline.lib.warehouse.snowflake import SnowflakeWarehouse

    return SnowflakeWarehouse(
        snowflake=SnowflakeResource(
            account=dg.EnvVar("SNOWFLAKE_ACCOUNT"),
            user=dg.EnvVar("SNOWFLAKE_USER"),
            password=_secret("SNOWFLAKE_PASSWORD"),
            private_key_path=_optional("SNOWFLAKE_PRIVATE_KEY_PATH"),
            private_key_password=_secret("SNOWFLAKE_PRIVATE_KEY_PASSWORD"),
            role=_optional("SNOWFLAKE_ROLE"),
            warehouse=dg.EnvVar("SNOWFLAKE_WAREHOUSE"),
            database=dg.EnvVar("SNOWFLAKE_DATABASE"),
        ),
        storage_integration=_optional("SNOWFLAKE_STORAGE_INTEGRATION"),
        stage_aws_key_id=_secret("SNOWFLAKE_STAGE_AWS_KEY_ID"),
        stage_aws_secret_key=_secret("SNOWFLAKE_STAGE_AWS_SECRET_KEY"),
    )


def _bigquery() -> Warehouse:
    from pipeline.lib.warehouse.bigquery import BigQueryWarehouse
    from pipeline.lib.warehouse.gcp_clients import bigquery_resource, gcs_resource

    return BigQueryWarehouse(
        bigquery=bigquery_resource(),
        gcs=gcs_resource(),
        staging_bucket=_optional("BIGQUERY_STAGING_BUCKET"),
        extension_dir=dg.EnvVar("DUCKDB_EXTENSION_DIR"),
    )


WAREHOUSE_RESOURCES = {
    "duckdb": _duckdb,
    "postgres": _postgres,
    "redshift": _redshift,
    "snowflake": _snowflake,
    "bigquery": _bigquery,
}


def warehouse_resource(settings: Settings) -> Warehouse:
    return WAREHOUSE_RESOURCES[settings.warehouse]()


def executor_for(warehouse: Warehouse) -> dg.ExecutorDefinition:
    # An embedded database file takes one writer at a time: run the steps one after another in one
    # process. Server warehouses take the steps in parallel processes.
    if warehouse.allows_concurrent_writers:
        return dg.multiprocess_executor
    return dg.in_process_executor
