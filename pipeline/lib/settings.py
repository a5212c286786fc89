"""Configuration from environment variables: the one place that reads them and knows their defaults.

The platform's variables are declared here; each pipeline declares its own (named with its prefix) in its
settings module with `declare_defaults`. Every variable is documented in the README. Defaults put all local
state under `.local/` in the repository (git-ignored), so a fresh clone runs with no configuration at all.
Secrets (passwords) have no default here: resources take them through `dg.EnvVar`, so they never sit in code.
"""

import contextlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCAL_DIR = REPO_ROOT / ".local"
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"

WAREHOUSES = ("duckdb", "postgres", "redshift", "snowflake", "bigquery")

DEFAULTS = {
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
    "BIGQUERY_LOCATION": "US",
    "SNOWFLAKE_WAREHOUSE": "COMPUTE_WH",
    "SNOWFLAKE_DATABASE": "SPARKIFY",
    "RETRY_MAX": "3",
    "RETRY_DELAY_SECONDS": "300",
    "DBT_WARM": "true",
    "DBT_SCHEMA": "analytics",  # dbt's target schema (profiles.yml), for a model whose folder sets none
}


def env(name: str) -> str:
    """The variable's value, or its documented default."""
    value = os.environ.get(name, "").strip()
    return value or DEFAULTS[name]


def declare_defaults(defaults: Mapping[str, str]) -> None:
    """A pipeline's own variables with their defaults: readable with `env`, and exported like the platform's."""
    for name, default in defaults.items():
        if DEFAULTS.setdefault(name, default) != default:
            raise ValueError(f"{name} is declared twice with different defaults")
        os.environ[name] = env(name)


def declare_pipeline_settings() -> None:
    """Every pipeline's variables with their defaults (each pipeline's settings module), exported: as the code
    location has them once it has loaded (a task's YAML may name them: {{ env.SPARKIFY_DATA_URI }})."""
    import importlib
    import pkgutil

    import pipeline.defs

    for module in pkgutil.iter_modules(pipeline.defs.__path__):
        if module.ispkg and importlib.util.find_spec(f"pipeline.defs.{module.name}.settings"):
            importlib.import_module(f"pipeline.defs.{module.name}.settings")
    export_defaults()


_LOAD_SCHEMAS: set[str] = set()


def declare_load_schemas(*schemas: str) -> None:
    """Schemas a pipeline's loaders write into (beside their tables, scratch tables that maintenance cleans up)."""
    _LOAD_SCHEMAS.update(schemas)


def load_schemas() -> list[str]:
    """Every pipeline's load schemas, as declared by the pipelines loaded in this process."""
    return sorted(_LOAD_SCHEMAS)


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
    """The platform's settings: which warehouse this environment writes to."""

    warehouse: str

    @classmethod
    def from_env(cls) -> "Settings":
        warehouse = env("WAREHOUSE").lower()
        if warehouse not in WAREHOUSES:
            raise ValueError(f"WAREHOUSE={warehouse!r} is not supported; choose one of {', '.join(WAREHOUSES)}")
        return cls(warehouse=warehouse)
