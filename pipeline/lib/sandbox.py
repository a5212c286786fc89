"""A personal sandbox (SANDBOX=<name>): an analyst's own Dagster instance, DuckDB warehouse, task outputs and
schemas, to try a task or a model against their own tables before the change is merged.

`python -m pipeline` (so `make ui`, `make demo` and `materialize`) enters it before any command: every pipeline's
`*_SCHEMA` variable and dbt's DBT_SCHEMA get the prefix `<name>_` (so on a shared Redshift, Snowflake or
BigQuery the sandbox writes only its own schemas), and DAGSTER_HOME, DUCKDB_PATH and TASKS_DATA_URI move under
SANDBOX_DIR/<name>/. The command then starts again in a fresh process with that environment, because a
pipeline's settings module reads its schema names once, when imported; `dagster dev`'s code server and run
workers inherit it.
"""

import os
import re
import sys
from pathlib import Path

from pipeline.lib.settings import DEFAULTS, LOCAL_DIR, declare_defaults, declare_pipeline_settings, env

declare_defaults({"SANDBOX_DIR": str(LOCAL_DIR / "sandbox")})

NAME = re.compile(r"^[a-z][a-z0-9_]{0,29}$")
ENTERED = "SANDBOX_ENTERED"  # set in the sandbox's process: the environment is already the sandbox's


def sandbox_environment(name: str) -> dict[str, str]:
    """The variables the sandbox `name` sets: its folder's instance, warehouse file and outputs, prefixed schemas."""
    if not NAME.match(name):
        raise ValueError(f"SANDBOX={name!r}: a lower-case identifier of at most 30 characters, e.g. your user name")
    declare_pipeline_settings()  # every pipeline's *_SCHEMA variable and its default
    root, prefix = Path(env("SANDBOX_DIR")) / name, f"{name}_"
    values = {
        "DAGSTER_HOME": str(root / "dagster_home"),
        "DUCKDB_PATH": str(root / "warehouse.duckdb"),
        "TASKS_DATA_URI": str(root / "tasks"),
        ENTERED: name,
    }
    for variable in sorted(DEFAULTS):
        if variable.endswith("_SCHEMA") and not env(variable).startswith(prefix):
            values[variable] = prefix + env(variable)
    return values


def enter_sandbox(argv: list[str]) -> None:
    """With SANDBOX set, start `python -m pipeline argv` again in the sandbox (once: not in the sandbox itself)."""
    name = os.environ.get("SANDBOX", "").strip()
    if not name or os.environ.get(ENTERED) == name:
        return
    # The user's own variables: reading the pipelines' settings exports every default into os.environ, and the
    # command must not take those for the user's (`make ui` lets the demo's recorded settings fill only those).
    users = dict(os.environ)
    try:
        values = sandbox_environment(name)
    except ValueError as error:
        raise SystemExit(f"python -m pipeline: {error}") from None
    Path(values["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
    print(f"sandbox {name}: " + ", ".join(f"{k}={v}" for k, v in values.items() if k != ENTERED), flush=True)
    os.execve(sys.executable, [sys.executable, "-m", "pipeline", *argv], {**users, **values})
