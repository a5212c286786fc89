"""The code location: every definition under pipeline/defs/ (one folder per pipeline, plus platform/), with the
resources and executor of this environment: the warehouse, and dbt on that warehouse. Nothing else belongs
here: a pipeline is added by adding its folder."""

from pathlib import Path

import dagster as dg

from pipeline.lib.dbt.cli import dbt_resource
from pipeline.lib.dbt.project import dbt_project
from pipeline.lib.environment import executor_for, warehouse_resource
from pipeline.lib.settings import Settings, export_defaults


def build_definitions(settings: Settings) -> dg.Definitions:
    export_defaults()  # dbt and the pipelines' settings read them from the environment
    warehouse = warehouse_resource(settings)
    return dg.Definitions.merge(
        dg.load_from_defs_folder(path_within_project=Path(__file__).parent),
        dg.Definitions(
            resources={"warehouse": warehouse, "dbt": dbt_resource(dbt_project, settings.warehouse)},
            executor=executor_for(warehouse),
        ),
    )


defs = build_definitions(Settings.from_env())
