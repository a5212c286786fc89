"""Configuration from environment variables: the one place that reads them and knows their defaults.

Every variable is documented in the README. Defaults put all local state under `.local/` in the
repository (git-ignored), so a fresh clone runs with no configuration at all. Secrets (passwords)
have no default here: resources take them through `dg.EnvVar`, so they never sit in code or config.
"""

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pipeline.warehouse.identifiers import checked_identifier

REPO_ROOT = Path(__file__).resolve().parent.parent
LOCAL_DIR = REPO_ROOT / ".local"
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"

WAREHOUSES = ("duckdb", "postgres", "redshift")

DEFAULTS = {
    "SPARKIFY_DATA_URI": str(LOCAL_DIR / "lake"),
    "SPARKIFY_STAGING_SCHEMA": "staging",
    "SPARKIFY_ANALYTICS_SCHEMA": "analytics",
    "WAREHOUSE": "duckdb",
    "DAGSTER_DEPLOYMENT": "local",
    "DUCKDB_PATH": str(LOCAL_DIR / "warehouse.duckdb"),
    "DUCKDB_EXTENSION_DIR": str(LOCAL_DIR / "duckdb_extensions"),
    "DAGSTER_HOME": str(LOCAL_DIR / "dagster_home"),
    "POSTGRES_HOST": "127.0.0.1",
    "POSTGRES_PORT": "5432",
    "POSTGRES_USER": "postgres",
    "POSTGRES_DB": "sparkify",
    "REDSHIFT_PORT": "5439",
    "REDSHIFT_DATABASE": "dev",
    "SPARKIFY_RETRY_MAX": "3",
    "SPARKIFY_RETRY_DELAY_SECONDS": "300",
    "SPARKIFY_SCHEDULE_CRON": "15 0 * * *",
    "SPARKIFY_SCHEDULE_CATCHUP_DAYS": "7",
    "SPARKIFY_SENSOR_LOOKBACK_DAYS": "3",
    "SPARKIFY_SENSOR_INTERVAL_SECONDS": "300",
    "SPARKIFY_WARM_DBT": "true",
}


def env(name: str) -> str:
    """The variable's value, or its documented default."""
    value = os.environ.get(name, "").strip()
    return value or DEFAULTS[name]


def export_defaults() -> None:
    """Put the defaults into the environment of this process.

    dbt runs as a subprocess and reads its connection settings (profiles.yml) from the
    environment, so it must see the same values the Python side resolved.
    """
    for name in DEFAULTS:
        os.environ[name] = env(name)


@contextlib.contextmanager
def environment(**variables: str) -> Iterator[None]:
    """These variables set in this process while inside; the previous values restored after."""
    before = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@dataclass(frozen=True)
class Settings:
    data_uri: str
    warehouse: str
    staging_schema: str
    analytics_schema: str

    @classmethod
    def from_env(cls) -> "Settings":
        warehouse = env("WAREHOUSE").lower()
        if warehouse not in WAREHOUSES:
            raise ValueError(f"WAREHOUSE={warehouse!r} is not supported; choose one of {', '.join(WAREHOUSES)}")
        return cls(
            data_uri=env("SPARKIFY_DATA_URI"),
            warehouse=warehouse,
            staging_schema=checked_identifier(env("SPARKIFY_STAGING_SCHEMA"), "schema name (SPARKIFY_STAGING_SCHEMA)"),
            analytics_schema=checked_identifier(env("SPARKIFY_ANALYTICS_SCHEMA"), "schema name (SPARKIFY_ANALYTICS_SCHEMA)"),
        )
