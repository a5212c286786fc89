"""Keeping dbt's manifest (target/manifest.json) current: dagster-dbt builds the asset graph from it at import."""

import os
import subprocess
import sys
from pathlib import Path

from pipeline.settings import DBT_PROJECT_DIR, DEFAULTS, env

MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"


def _newest_source_mtime() -> float:
    sources = [p for p in DBT_PROJECT_DIR.rglob("*") if p.suffix in (".sql", ".yml", ".yaml") and "target" not in p.parts]
    return max(p.stat().st_mtime for p in sources)


def manifest_is_current() -> bool:
    return MANIFEST.exists() and MANIFEST.stat().st_mtime >= _newest_source_mtime()


def prepare_manifest(force: bool = False) -> None:
    """Run `dbt parse` when the manifest is missing or older than the project's SQL and YAML."""
    if not force and manifest_is_current():
        return
    dbt = Path(sys.executable).with_name("dbt")
    command = [str(dbt), "parse", "--quiet", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
                      "--target", env("WAREHOUSE")]
    # profiles.yml reads the settings from the environment: give dbt the resolved defaults too.
    dbt_env = {**os.environ, **{name: env(name) for name in DEFAULTS}}
    completed = subprocess.run(command, env=dbt_env, capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"dbt parse failed:\n{completed.stdout}{completed.stderr}")
