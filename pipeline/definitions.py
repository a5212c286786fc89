"""The code location's root: every pipeline's definitions merged, with the warehouse and executor of this environment."""

import dagster as dg

from pipeline.resources import executor_for, warehouse_resource
from pipeline.settings import Settings, export_defaults

export_defaults()
settings = Settings.from_env()

from pipeline.sparkify.definitions import sparkify_definitions  # noqa: E402  (needs the exported defaults)

warehouse = warehouse_resource(settings)

defs = dg.Definitions.merge(
    sparkify_definitions(),
    dg.Definitions(resources={"warehouse": warehouse}, executor=executor_for(warehouse)),
)
