"""Building the code location from a settings value: every folder under pipeline/defs/ (one per pipeline, plus
platform/ and tasks/), with the resources and executor of this environment: the warehouse, and dbt on that
warehouse, and a code reference on every asset. A pipeline is added by adding its folder; two configurations can
be built in one process.
"""

import importlib
from pathlib import Path
from types import ModuleType

import dagster as dg

from pipeline.lib.code_references import with_code_references
from pipeline.lib.dbt.cli import dbt_resource
from pipeline.lib.dbt.project import dbt_project, prepare_if_dev
from pipeline.lib.environment import executor_for, warehouse_resource
from pipeline.lib.pipelines import Pipeline
from pipeline.lib.settings import Settings

DEFS = Path(__file__).parent / "defs"


def folder_modules() -> list[ModuleType]:
    """Each folder's definitions.py, in name order. Only these are imported: a folder's tools (its demo data, a
    Spark script) never load with the code location."""
    names = sorted(path.parent.name for path in DEFS.glob("*/definitions.py"))
    return [importlib.import_module(f"pipeline.defs.{name}.definitions") for name in names]


def complete_settings(settings: Settings, modules: list[ModuleType] | None = None) -> Settings:
    """The settings with every pipeline's own resolved: what dbt, the tasks' templates and maintenance read."""
    modules = folder_modules() if modules is None else modules
    return settings.with_pipelines(m.SETTINGS.resolve(settings) for m in modules if hasattr(m, "SETTINGS"))


def build_pipelines(settings: Settings) -> tuple[Settings, list[Pipeline]]:
    """Every folder's pipeline, built from the completed settings (returned too)."""
    modules = folder_modules()
    settings = complete_settings(settings, modules)
    prepare_if_dev(settings)
    return settings, [module.build(settings) for module in modules]


def definitions_of(settings: Settings, pipelines: list[Pipeline]) -> dg.Definitions:
    """The pipelines' definitions with this environment's warehouse, dbt and executor; every asset links to the
    code that declares it."""
    warehouse = warehouse_resource(settings)
    dbt = dbt_resource(dbt_project(settings), settings.warehouse, settings.dbt_variables(), settings.dbt_warm)
    defs = dg.Definitions.merge(
        *(pipeline.defs for pipeline in pipelines),
        dg.Definitions(resources={"warehouse": warehouse, "dbt": dbt}, executor=executor_for(warehouse)),
    )
    return with_code_references(defs, settings)


def build_definitions(settings: Settings) -> dg.Definitions:
    return definitions_of(*build_pipelines(settings))


def data_ranges(pipelines: list[Pipeline]) -> dict:
    """Each group's data range, for `python -m pipeline materialize` without --start/--end."""
    return {p.group: p.data_range for p in pipelines if p.group and p.data_range}
