"""Keeping dbt's manifest (target/manifest.json) current: dagster-dbt builds the asset graph from it at import;
keeping dbt's partial-parse state (target/partial_parse.msgpack) the one of this environment; and knowing which
folders of the target directory are dagster-dbt's per-invocation folders, and removing one.

dagster-dbt gives every invocation a target folder of its own, seeded with the project's
partial_parse.msgpack. That file is valid only for the connection settings it was parsed with (dbt
hashes the profile's connection, for DuckDB the file path): the manifest prepared at build time or on
another machine makes every invocation re-parse the whole project (~1.5 s). After an invocation, its
own state, parsed here, replaces the project's, so the next one parses only what changed.
"""

import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from pipeline.lib.dbt.fork_server import DBT_EXECUTABLE
from pipeline.lib.settings import DBT_PROJECT_DIR

MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"
PARTIAL_PARSE_FILE = "partial_parse.msgpack"  # dbt's partial-parse state, in each target folder

# The folder dagster-dbt gives each invocation inside the target directory: `<op name>-<run id[:7]>-<7 hex>`
# (DbtCliResource._get_unique_target_path). Only folders named so are ever removed: the target directory also
# holds the project's own manifest.json, partial_parse.msgpack, graph files and the like.
INVOCATION_FOLDER = re.compile(r"(?P<op>[A-Za-z0-9_]+)-(?P<run>[0-9a-f]{7})-(?P<unique>[0-9a-f]{7})")


def _newest_source_mtime() -> float:
    sources = [
        p for p in DBT_PROJECT_DIR.rglob("*") if p.suffix in (".sql", ".yml", ".yaml") and "target" not in p.parts
    ]
    return max(p.stat().st_mtime for p in sources)


def manifest_is_current() -> bool:
    return MANIFEST.exists() and MANIFEST.stat().st_mtime >= _newest_source_mtime()


def prepare_manifest(variables: Mapping[str, str], target: str, force: bool = False) -> None:
    """Run `dbt parse` on the target, with these variables (the platform's resolved settings) in dbt's
    environment, when the manifest is missing or older than the project's SQL and YAML."""
    if not force and manifest_is_current():
        return
    command = [
        DBT_EXECUTABLE,
        "parse",
        "--quiet",
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target",
        target,
    ]
    completed = subprocess.run(command, env={**os.environ, **variables}, capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"dbt parse failed:\n{completed.stdout}{completed.stderr}")


def keep_partial_parse_state(invocation_target: Path) -> None:
    """Make an invocation's partial-parse state the one dagster-dbt seeds the next invocation from.

    That is the parent of the invocation's own target folder (dagster-dbt makes it a subfolder of
    DBT_TARGET_PATH, by default the project's target/). Replaced atomically: other runs may be reading it.
    """
    state = Path(invocation_target) / PARTIAL_PARSE_FILE
    if not state.exists():
        return
    kept = state.parent.parent / PARTIAL_PARSE_FILE
    staged = kept.with_name(f".{kept.name}.{os.getpid()}")
    shutil.copyfile(state, staged)
    os.replace(staged, kept)


def dbt_target_dir() -> Path:
    """The directory dagster-dbt puts the invocation folders in: DBT_TARGET_PATH (relative to the dbt project, as
    dagster-dbt reads it), else the project's target/."""
    path = Path(os.environ.get("DBT_TARGET_PATH", "").strip() or "target")
    return path if path.is_absolute() else DBT_PROJECT_DIR / path


def is_invocation_folder(path: Path) -> bool:
    return INVOCATION_FOLDER.fullmatch(path.name) is not None and path.is_dir() and not path.is_symlink()


def remove_invocation_folder(invocation_target: Path) -> None:
    """Remove an invocation's folder (its compiled/ and run/ SQL, dbt.log, parse state): ~1.2 MB per dbt run.

    Refuses any other folder, so a wrong path cannot take the project's target/ with it.
    """
    path = Path(invocation_target)
    if not is_invocation_folder(path):
        raise ValueError(f"not a dbt invocation folder: {path}")
    shutil.rmtree(path)
