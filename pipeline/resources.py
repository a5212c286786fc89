"""Resources per environment, in one table: the warehouse named by `WAREHOUSE` and how runs execute against it."""

import os

import dagster as dg

from pipeline.settings import Settings
from pipeline.warehouse import DuckDBWarehouse, PostgresWarehouse, RedshiftWarehouse, Warehouse


def _secret(name: str) -> dg.EnvVar | None:
    """A password by reference: Dagster reads it from the environment when the resource is used."""
    return dg.EnvVar(name) if os.environ.get(name) else None


def _optional(name: str) -> str | None:
    return os.environ.get(name) or None


WAREHOUSE_RESOURCES = {
    "duckdb": lambda: DuckDBWarehouse(path=dg.EnvVar("DUCKDB_PATH"), extension_dir=dg.EnvVar("DUCKDB_EXTENSION_DIR")),
    "postgres": lambda: PostgresWarehouse(
        host=dg.EnvVar("POSTGRES_HOST"), port=dg.EnvVar.int("POSTGRES_PORT"), user=dg.EnvVar("POSTGRES_USER"),
        password=_secret("POSTGRES_PASSWORD"), database=dg.EnvVar("POSTGRES_DB"),
    ),
    "redshift": lambda: RedshiftWarehouse(
        host=dg.EnvVar("REDSHIFT_HOST"), port=dg.EnvVar.int("REDSHIFT_PORT"), user=dg.EnvVar("REDSHIFT_USER"),
        password=_secret("REDSHIFT_PASSWORD"), database=dg.EnvVar("REDSHIFT_DATABASE"),
        iam_role=_optional("REDSHIFT_IAM_ROLE"), copy_role_arn=_optional("REDSHIFT_COPY_ROLE_ARN"),
        s3_region=_optional("REDSHIFT_S3_REGION"),
    ),
}


def warehouse_resource(settings: Settings) -> Warehouse:
    return WAREHOUSE_RESOURCES[settings.warehouse]()


def executor_for(warehouse: Warehouse) -> dg.ExecutorDefinition:
    # An embedded database file takes one writer at a time: run the steps one after another in one
    # process. Server warehouses take the steps in parallel processes.
    if warehouse.allows_concurrent_writers:
        return dg.multiprocess_executor
    return dg.in_process_executor
