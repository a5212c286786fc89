"""What every pipeline shares, built from the platform's settings: alerts on failed runs and failed checks, and
the maintenance job (cleaning every pipeline's load schemas) with its weekly schedule."""

import dagster as dg

from pipeline.defs.platform.alerts import check_failure_alert, run_failure_alert
from pipeline.defs.platform.maintenance.jobs import maintenance_job
from pipeline.defs.platform.maintenance.schedules import maintenance_schedule
from pipeline.lib.environment import sensor_default_status
from pipeline.lib.pipelines import Pipeline
from pipeline.lib.settings import Settings


def build(settings: Settings) -> Pipeline:
    job = maintenance_job(settings.load_schemas)
    status = sensor_default_status(settings)
    return Pipeline(
        dg.Definitions(
            jobs=[job],
            schedules=[maintenance_schedule(job)],
            sensors=[
                run_failure_alert(status, settings.dagster_ui_url),
                check_failure_alert(status, settings.dagster_ui_url),
            ],
        )
    )
