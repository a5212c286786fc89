"""Configuration as values: the platform's `Settings`, and `PipelineSettings`, the base of each pipeline's own.

Both are frozen pydantic models resolved from a mapping of environment variables (os.environ by default) when
the definitions are built, each field named by its variable (`validation_alias`) with its default beside it;
docs/configuration.md lists them all. Nothing here writes os.environ and nothing reads it at import, so two
configurations can be built in one process. Defaults put all local state under `.local/` in the repository
(git-ignored), so a fresh clone runs with no configuration at all. Secrets (passwords, keys) are not settings:
resources take them by reference (`dg.EnvVar`), so their values are never part of a definition.
"""

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    ValidationError,
    field_validator,
    model_validator,
)

from pipeline.lib.identifiers import checked_identifier

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCAL_DIR = REPO_ROOT / ".local"
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"

Warehouse = Literal["duckdb", "postgres", "redshift", "snowflake", "bigquery"]
WAREHOUSES: tuple[str, ...] = Warehouse.__args__


def _schema_name(value: str) -> str:
    return checked_identifier(value, "schema name")


_SCHEMA = AfterValidator(_schema_name)
# A schema a pipeline writes to: a SQL identifier, and prefixed with the sandbox's name in a sandbox.
SchemaName = Annotated[str, _SCHEMA]
# A schema a pipeline's loaders write tables into (and leave scratch tables in, which maintenance drops).
LoadSchemaName = Annotated[SchemaName, "load"]

# Variables with no field: read by dbt (profiles.yml) or a warehouse's resource, with these defaults.
CONNECTION_DEFAULTS = {
    "POSTGRES_HOST": "127.0.0.1",
    "POSTGRES_PORT": "5432",
    "POSTGRES_USER": "postgres",
    "POSTGRES_DB": "warehouse",
    "REDSHIFT_PORT": "5439",
    "REDSHIFT_DATABASE": "dev",
    "BIGQUERY_LOCATION": "US",
    "SNOWFLAKE_WAREHOUSE": "COMPUTE_WH",
    "SNOWFLAKE_DATABASE": "DATA_PLATFORM",
}


class EnvironmentSettings(BaseModel):
    """Fields named by their variable; an unset or blank variable takes the field's default."""

    model_config = ConfigDict(frozen=True, validate_by_name=True, validate_by_alias=True, extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _blank_is_unset(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            return {name: value.strip() for name, value in data.items() if not isinstance(value, str) or value.strip()}
        return data

    @classmethod
    def variable_defaults(cls) -> dict[str, str]:
        """Every variable of the model with its default, as text."""
        return {f.validation_alias: _text(f.default) for f in cls.model_fields.values() if f.validation_alias}

    def variables(self) -> dict[str, str]:
        """Every variable of the model with its resolved value, as text (dbt and the tasks' templates read them)."""
        fields = type(self).model_fields.items()
        return {field.validation_alias: _text(getattr(self, name)) for name, field in fields if field.validation_alias}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return "" if value is None else str(value)


class Settings(EnvironmentSettings):
    """The platform's settings: the warehouse, the deployment, local state, retries, dbt, code links, the sandbox."""

    warehouse: Warehouse = Field("duckdb", validation_alias="WAREHOUSE")
    deployment: Literal["local", "prod"] = Field("local", validation_alias="DAGSTER_DEPLOYMENT")
    duckdb_path: str = Field(str(LOCAL_DIR / "warehouse.duckdb"), validation_alias="DUCKDB_PATH")
    duckdb_extension_dir: str = Field(str(LOCAL_DIR / "duckdb_extensions"), validation_alias="DUCKDB_EXTENSION_DIR")
    dagster_home: str = Field(str(LOCAL_DIR / "dagster_home"), validation_alias="DAGSTER_HOME")
    retry_max: NonNegativeInt = Field(3, validation_alias="RETRY_MAX")
    retry_delay_seconds: NonNegativeFloat = Field(300, validation_alias="RETRY_DELAY_SECONDS")
    dbt_warm: bool = Field(True, validation_alias="DBT_WARM")
    dbt_schema: SchemaName = Field("analytics", validation_alias="DBT_SCHEMA")  # dbt's target schema
    # The webserver as a browser reaches it: every alert links to its run or asset check there.
    dagster_ui_url: str = Field("http://127.0.0.1:3000", validation_alias="DAGSTER_UI_URL")
    # Where the assets' code references (the asset page's "Source code" in the UI) lead: this repository at this
    # ref, or with no URL the files on the machine that loaded the code location (pipeline/lib/code_references.py).
    code_references_git_url: str = Field("", validation_alias="CODE_REFERENCES_GIT_URL")
    code_references_git_ref: str = Field("main", validation_alias="CODE_REFERENCES_GIT_REF")
    # A personal sandbox: its own instance, DuckDB file and task outputs under SANDBOX_DIR/<name>/, and every
    # pipeline's schemas prefixed `<name>_` (docs/tasks.md).
    sandbox: str = Field("", validation_alias="SANDBOX")
    sandbox_dir: str = Field(str(LOCAL_DIR / "sandbox"), validation_alias="SANDBOX_DIR")
    # The environment the settings were resolved from, read-only: secrets stay in it, referenced by name.
    environ: Mapping[str, str] = Field(default_factory=dict, exclude=True, repr=False)
    # Every pipeline's resolved variables and load schemas, filled in by `with_pipelines` (pipeline/definitions.py).
    pipeline_variables: Mapping[str, str] = Field(default_factory=dict, exclude=True, repr=False)
    load_schemas: tuple[str, ...] = ()

    @field_validator("sandbox")
    @classmethod
    def _sandbox_name(cls, value: str) -> str:
        if value and not re.fullmatch(r"[a-z][a-z0-9_]{0,29}", value):
            raise ValueError("a lower-case identifier of at most 30 characters, e.g. your user name")
        return value

    @field_validator("dagster_ui_url")
    @classmethod
    def _ui_url(cls, value: str) -> str:
        if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value):
            raise ValueError("the web UI's address, e.g. http://127.0.0.1:3000 or https://dagster.example.com")
        return value.rstrip("/")

    @field_validator("code_references_git_url")
    @classmethod
    def _repository_url(cls, value: str) -> str:
        value = value.removesuffix("/").removesuffix(".git")
        if value and not re.fullmatch(r"https?://[^/\s]*(github|gitlab)[^/\s]*(/[^/\s]+)+", value):
            raise ValueError(
                "a GitHub or GitLab repository's web address, e.g. https://github.com/acme/data-platform "
                "(Dagster links to those two hosts only)"
            )
        return value

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        environ = dict(os.environ if environ is None else environ)
        settings = cls.model_validate(environ)
        if settings.sandbox:  # the sandbox's folder holds its instance and warehouse, whatever else is set
            root = Path(settings.sandbox_dir) / settings.sandbox
            update = {"dagster_home": str(root / "dagster_home"), "duckdb_path": str(root / "warehouse.duckdb")}
            settings = settings.model_copy(
                update={**update, "dbt_schema": settings.schema_prefix + settings.dbt_schema}
            )
        return settings.model_copy(update={"environ": MappingProxyType(environ)})

    @property
    def schema_prefix(self) -> str:
        return f"{self.sandbox}_" if self.sandbox else ""

    def variable(self, name: str) -> str:
        """A variable no field holds (a warehouse's connection): as set, else its documented default, else ''."""
        return (self.environ.get(name) or "").strip() or CONNECTION_DEFAULTS.get(name, "")

    def is_set(self, name: str) -> bool:
        return bool((self.environ.get(name) or "").strip())

    def with_pipelines(self, pipelines: Iterable["PipelineSettings"]) -> Self:
        """These settings with every pipeline's resolved variables and load schemas: what dbt, the tasks'
        templates and maintenance read."""
        pipelines = list(pipelines)
        variables = {name: value for p in pipelines for name, value in p.variables().items()}
        schemas = sorted({schema for p in pipelines for schema in p.load_schemas()})
        return self.model_copy(
            update={"pipeline_variables": MappingProxyType(variables), "load_schemas": tuple(schemas)}
        )

    def resolved_variables(self) -> dict[str, str]:
        """The environment as the platform resolved it: the user's variables, every default, sandbox applied
        (what a task's `{{ env.NAME }}` template reads)."""
        return {**self.environ, **self.dbt_variables()}

    def dbt_variables(self) -> dict[str, str]:
        """What dbt reads (profiles.yml, the schemas of sources and models), as resolved here; no secret: those
        reach dbt in the environment it inherits, by name."""
        connection = {name: self.variable(name) for name in CONNECTION_DEFAULTS}
        return {**connection, **self.variables(), **self.pipeline_variables}


class PipelineSettings(EnvironmentSettings):
    """The base of a pipeline's settings: its variables carry its prefix; its schemas get the sandbox's prefix."""

    @classmethod
    def resolve(cls, settings: Settings) -> Self:
        resolved = cls.model_validate(dict(settings.environ))
        prefix = settings.schema_prefix
        if not prefix:
            return resolved
        schemas = {name: prefix + getattr(resolved, name) for name in cls._schema_fields()}
        return resolved.model_copy(update=schemas)

    @classmethod
    def _schema_fields(cls) -> list[str]:
        return [name for name, field in cls.model_fields.items() if _SCHEMA in field.metadata]

    def load_schemas(self) -> list[str]:
        """The schemas the pipeline's loaders write into."""
        return [getattr(self, name) for name, field in type(self).model_fields.items() if "load" in field.metadata]


def settings_problems(error: ValidationError) -> str:
    """A settings error as its variables and values say it: `SANDBOX='Alice Smith': a lower-case identifier ...`."""
    return "; ".join(
        f"{'.'.join(str(part) for part in problem['loc'])}={problem['input']!r}: "
        f"{problem['msg'].removeprefix('Value error, ')}"
        for problem in error.errors()
    )
