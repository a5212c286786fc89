"""The code location's root: every pipeline's definitions merged, with the warehouse and executor of this environment."""

import dagster as dg

from pipeline.alerts import run_failure_alert_sensor
from pipeline.maintenance.definitions import maintenance_definitions
from pipeline.resources import executor_for, warehouse_resource
from pipeline.settings import Settings, export_defaults

export_defaults()

from pipeline.sparkify.definitions import sparkify_definitions  # noqa: E402  (reads the exported defaults)


def build_definitions(settings: Settings) -> dg.Definitions:
    warehouse = warehouse_resource(settings)
    return dg.Definitions.merge(
        sparkify_definitions(),
        maintenance_definitions(),
        dg.Definitions(
            resources={"warehouse": warehouse}, executor=executor_for(warehouse), sensors=[run_failure_alert_sensor]
        ),
    )


defs = build_definitions(Settings.from_env())
