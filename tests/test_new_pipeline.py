"""A new pipeline is two folders: `pipeline/defs/<name>/` and `dbt_project/models/<name>/` added to a copy of the
repository, with no other file edited, join the code location (Sparkify's assets stay exactly as they were), and
`python -m pipeline demo` generates the new pipeline's demo data and materializes it, to the warehouse and dbt.

The pipeline written here is the measure of the kit (pipeline/lib/): a partitioned file source with its raw
asset and sensor, its staging load, a dbt model and its demo data, in about a hundred lines of Python."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parent.parent

# The pipeline's files: each parcel scan of a day in one JSON Lines file, scans/YYYY-MM-DD.json.
PARCELS = {
    "__init__.py": '''"""Parcels: each day's parcel scans (one JSON Lines file a day) staged, then weighed by dbt."""
''',
    "settings.py": '''"""The parcels pipeline's configuration (PARCELS_*)."""

import datetime as dt

from pydantic import Field

from pipeline.lib.settings import LOCAL_DIR, LoadSchemaName, PipelineSettings


class ParcelsSettings(PipelineSettings):
    data_uri: str = Field(str(LOCAL_DIR / "parcels"), validation_alias="PARCELS_DATA_URI")
    load_schema: LoadSchemaName = Field("parcels", validation_alias="PARCELS_SCHEMA")
    first_day: dt.date = Field(dt.date(2024, 1, 1), validation_alias="PARCELS_FIRST_DAY")
''',
    "definitions.py": '''"""The parcels pipeline, built with the kit: day files, a staging table, dbt, a sensor."""

import re

import dagster as dg

from pipeline.defs.parcels.settings import ParcelsSettings
from pipeline.lib.dbt.assets import partitioned_models
from pipeline.lib.dbt.project import dbt_project
from pipeline.lib.environment import sensor_default_status
from pipeline.lib.lake import DataLakeResource, lake_resource, open_lake
from pipeline.lib.load_errors import load_or_fail
from pipeline.lib.metadata import TABLE_NAME
from pipeline.lib.partitioned_files import PartitionedFiles, new_files_sensor, observation_asset
from pipeline.lib.pipelines import Pipeline
from pipeline.lib.warehouse import Column, JsonBatch, TableSpec, Warehouse

GROUP, SETTINGS = "parcels", ParcelsSettings
SCANS = PartitionedFiles(
    prefix="scans/",
    key_of=lambda day: f"scans/{day}.json",
    partition_of=lambda key: m[1] if (m := re.fullmatch(r"scans/(\\d{4}-\\d{2}-\\d{2})\\.json", key)) else None,
    what="scan file",
)


def build(platform) -> Pipeline:
    settings = ParcelsSettings.resolve(platform)
    days = dg.DailyPartitionsDefinition(start_date=settings.first_day.isoformat())
    raw = observation_asset(
        SCANS, key=["raw", "scans"], lake="parcels_lake", partitions_def=days, group=GROUP, kinds={"json"},
        description="A day's parcel scans.",
    )
    table = TableSpec(settings.load_schema, "scans", (
        Column("day", "integer", "day"), Column("parcel_id", "text", "parcel_id"), Column("grams", "double", "grams"),
    ))

    @dg.asset(key=["parcels", "scans"], deps=[raw], group_name=GROUP, partitions_def=days,
              backfill_policy=dg.BackfillPolicy.single_run(), metadata={TABLE_NAME: table.qualified})
    def scans(context: dg.AssetExecutionContext, parcels_lake: DataLakeResource, warehouse: Warehouse) -> None:
        lake = parcels_lake.get_lake()
        batches = []
        for obj in SCANS.files(lake, context.partition_keys):
            day = int(SCANS.partition_of(obj.key).replace("-", ""))
            batches.append(JsonBatch(keys=(obj.key,), window_column="day", low=day, high=day + 1,
                                     added_fields=(("day", day),), label=lake.uri(obj.key)))
        load_or_fail(lake, warehouse, table, batches)

    parcels_models = partitioned_models(dbt_project(platform), GROUP, days, "parcels_models")

    job = dg.define_asset_job("parcels_daily", selection=dg.AssetSelection.groups(GROUP), partitions_def=days)
    sensor = new_files_sensor(
        SCANS, name="new_scan_files_sensor", job=job, partitions_def=days, lake="parcels_lake",
        minimum_interval_seconds=300, default_status=sensor_default_status(platform),
        description="A parcels_daily run per new or replaced scan file.", version_tag="parcels/file_version",
    )
    defs = dg.Definitions(
        assets=[raw, scans, parcels_models], jobs=[job], sensors=[sensor],
        resources={"parcels_lake": lake_resource(settings.data_uri)},
    )
    return Pipeline(defs, GROUP, lambda: SCANS.data_range(open_lake(settings.data_uri)))
''',
    "demo.py": '''"""The parcels demo: three days of scans before today."""

import datetime as dt
import json

from pipeline.lib.demo import Demo


def prepare(folder, today: dt.date) -> dict[str, str]:
    root = folder / "parcels"
    days = [today - dt.timedelta(days=n) for n in (3, 2, 1)]
    for n, day in enumerate(days):
        lines = [json.dumps({"parcel_id": f"P{n}{i}", "grams": 100.0 * (i + 1)}) for i in range(n + 2)]
        (root / "scans").mkdir(parents=True, exist_ok=True)
        (root / "scans" / f"{day}.json").write_text("\\n".join(lines) + "\\n")
    return {"PARCELS_DATA_URI": str(root), "PARCELS_FIRST_DAY": days[0].isoformat()}


demo = Demo(prepare=prepare)
''',
}

# dbt: the staged scans weighed per day (a table model, rebuilt whole by each run).
DBT_FILES = {
    "_sources.yml": """version: 2

sources:
  - name: parcels
    schema: "{{ env_var('PARCELS_SCHEMA', 'parcels') }}"
    tables:
      - name: scans
""",
    "parcel_weights.sql": """{{ config(materialized='table', schema='parcels') }}
select day, count(*) as parcels, sum(grams) as grams from {{ source('parcels', 'scans') }} group by day
""",
}

# What the code location holds, printed by a process started in the copy.
LIST_DEFINITIONS = """
import json
from pipeline.definitions import defs
graph = defs.resolve_asset_graph()
print(json.dumps({
    "groups": {key.to_user_string(): graph.get(key).group_name for key in graph.get_all_asset_keys()},
    "checks": sorted(key.to_user_string() for key in graph.asset_check_keys),
    "sensors": sorted(s.name for s in defs.get_repository_def().sensor_defs),
    "code": {
        spec.key.to_user_string(): [ref.source for ref in spec.metadata["dagster/code_references"].code_references]
        for spec in defs.resolve_all_asset_specs()
    },
}))
"""


def copy_repository(destination: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "target", "logs", ".user.yml")
    for folder in ("pipeline", "dbt_project"):
        shutil.copytree(REPO / folder, destination / folder, ignore=ignore)
    for file in ("pyproject.toml", "workspace.yaml"):
        shutil.copy2(REPO / file, destination / file)
    return destination


def in_copy(root: Path, pipeline_env: dict, *command: str, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, **pipeline_env, "PYTHONPATH": str(root)}
    env = {k: v for k, v in env.items() if not k.startswith(("SPARKIFY_", "PARCELS_", "DBT_WARM_SOCKET"))}
    done = subprocess.run(
        [sys.executable, *command], cwd=root, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def definitions_in(root: Path, pipeline_env: dict) -> dict:
    in_copy(root, pipeline_env, "-m", "pipeline", "prepare")
    return json.loads(in_copy(root, pipeline_env, "-c", LIST_DEFINITIONS).stdout.strip().splitlines()[-1])


def add_pipeline(root: Path) -> int:
    """The two folders; the lines of Python written."""
    (root / "pipeline" / "defs" / "parcels").mkdir()
    for name, text in PARCELS.items():
        (root / "pipeline" / "defs" / "parcels" / name).write_text(text)
    (root / "dbt_project" / "models" / "parcels").mkdir()
    for name, text in DBT_FILES.items():
        (root / "dbt_project" / "models" / "parcels" / name).write_text(text)
    return sum(1 for text in PARCELS.values() for line in text.splitlines() if line.strip())


def line_of(folder: Path, text: str) -> int:
    """The first line of the folder's definitions.py that has `text`."""
    lines = (folder / "definitions.py").read_text().splitlines()
    return next(number for number, line in enumerate(lines, 1) if text in line)


def test_a_new_pipeline_folder_and_dbt_folder_join_the_code_location_and_the_demo(tmp_path, pipeline_env):
    before = definitions_in(copy_repository(tmp_path / "before"), pipeline_env)

    root = copy_repository(tmp_path / "after")
    lines = add_pipeline(root)
    after = definitions_in(root, pipeline_env)

    assert lines <= 120, f"the kit's measure: {lines} lines of Python for the new pipeline"
    assert after["groups"]["raw/scans"] == after["groups"]["parcels/scans"] == "parcels"
    assert after["groups"]["parcels/parcel_weights"] == "parcels"  # the dbt model, keyed and grouped by its folder
    sparkify = {key: group for key, group in after["groups"].items() if group == "sparkify"}
    assert sparkify == {key: group for key, group in before["groups"].items() if group == "sparkify"}
    assert after["checks"] == before["checks"]
    assert set(after["sensors"]) - set(before["sensors"]) == {"new_scan_files_sensor"}
    # Each asset links to the new folders' code, the kit's raw asset to the pipeline's call that built it.
    folder, models = root / "pipeline" / "defs" / "parcels", root / "dbt_project" / "models" / "parcels"
    assert after["code"]["raw/scans"] == [f"{folder / 'definitions.py'}:{line_of(folder, 'observation_asset(')}"]
    assert after["code"]["parcels/scans"] == [f"{folder / 'definitions.py'}:{line_of(folder, '@dg.asset(')}"]
    assert after["code"]["parcels/parcel_weights"] == [str(models / "parcel_weights.sql")]

    # The demo finds the new pipeline's demo.py, writes its days and materializes them, down to dbt's model.
    demo = in_copy(root, pipeline_env, "-m", "pipeline", "demo", "--group", "parcels")
    assert re.search(r"\(parcels_daily over \S+ \.\. \S+, 3 days\): succeeded", demo.stdout), demo.stdout
    with duckdb.connect(pipeline_env["DUCKDB_PATH"], read_only=True) as connection:
        weights = connection.execute("select parcels, grams from parcels.parcel_weights order by day").fetchall()
    assert weights == [(2, 300.0), (3, 600.0), (4, 1000.0)]
    assert (root / ".local" / "parcels" / "scans").is_dir()
