"""Resources every pipeline shares: `dbt`, the CLI of the platform's one dbt project on this environment's warehouse.

The `warehouse` resource and the executor are the environment's, added by pipeline/definitions.py.
"""

import dagster as dg

from pipeline.lib.dbt.cli import dbt_resource
from pipeline.lib.dbt.project import dbt_project
from pipeline.lib.settings import Settings

defs = dg.Definitions(resources={"dbt": dbt_resource(dbt_project, Settings.from_env().warehouse)})
