"""A new pipeline is a folder: `pipeline/defs/<name>/` and `dbt_project/models/<name>/` added to a copy of the
repository, with no other file edited, appear in the code location, and Sparkify's assets stay exactly as they were."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

NEW_ASSETS = '''"""A throw-away pipeline: one asset, and its dbt models as assets."""

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from pipeline.lib.dbt.project import dbt_project
from pipeline.lib.dbt.translator import PipelineDbtTranslator


@dg.asset(key=["parcels", "raw_parcels"], group_name="parcels")
def raw_parcels() -> None:
    """Nothing to load: the test only looks at the definitions."""


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    select="path:models/parcels",
    dagster_dbt_translator=PipelineDbtTranslator(),
)
def parcels_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    yield from dbt.cli(["build"], context=context).stream()
'''

# Incremental, as Sparkify's daily models are: a selection by materialization alone would take it in.
NEW_MODEL = """{{ config(materialized='incremental', schema='parcels') }}
select 1 as parcel_id
"""

# What the code location holds, printed by a process started in the copy.
LIST_DEFINITIONS = """
import json
from pipeline.definitions import defs
from pipeline.defs.sparkify.dbt_assets import sparkify_daily_models, sparkify_dimension_models
graph = defs.resolve_asset_graph()
print(json.dumps({
    "groups": {key.to_user_string(): graph.get(key).group_name for key in graph.get_all_asset_keys()},
    "checks": sorted(key.to_user_string() for key in graph.asset_check_keys),
    "sparkify_dbt": sorted(
        key.to_user_string() for a in (sparkify_daily_models, sparkify_dimension_models) for key in a.keys
    ),
}))
"""


def copy_repository(destination: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "target", "logs", ".user.yml")
    for folder in ("pipeline", "dbt_project"):
        shutil.copytree(REPO / folder, destination / folder, ignore=ignore)
    for file in ("pyproject.toml", "workspace.yaml"):
        shutil.copy2(REPO / file, destination / file)
    return destination


def definitions_in(root: Path, pipeline_env: dict) -> dict:
    env = {**os.environ, **pipeline_env, "PYTHONPATH": str(root)}
    for command in (["-m", "pipeline", "prepare"], ["-c", LIST_DEFINITIONS]):
        done = subprocess.run(
            [sys.executable, *command], cwd=root, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_new_pipeline_folder_and_dbt_folder_join_the_code_location_alone(tmp_path, pipeline_env):
    before = definitions_in(copy_repository(tmp_path / "before"), pipeline_env)

    root = copy_repository(tmp_path / "after")
    (root / "pipeline" / "defs" / "parcels").mkdir()
    (root / "pipeline" / "defs" / "parcels" / "__init__.py").write_text('"""Parcels: a throw-away pipeline."""\n')
    (root / "pipeline" / "defs" / "parcels" / "assets.py").write_text(NEW_ASSETS)
    (root / "dbt_project" / "models" / "parcels").mkdir()
    (root / "dbt_project" / "models" / "parcels" / "parcel_counts.sql").write_text(NEW_MODEL)
    after = definitions_in(root, pipeline_env)

    assert after["groups"]["parcels/raw_parcels"] == "parcels"
    assert after["groups"]["parcels/parcel_counts"] == "parcels"  # the dbt model, keyed and grouped by its folder
    sparkify = {key: group for key, group in after["groups"].items() if group == "sparkify"}
    assert sparkify == {key: group for key, group in before["groups"].items() if group == "sparkify"}
    assert after["sparkify_dbt"] == before["sparkify_dbt"]
    assert "parcels/parcel_counts" not in after["sparkify_dbt"]
    assert after["checks"] == before["checks"]
