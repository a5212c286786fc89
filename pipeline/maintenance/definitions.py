"""Maintenance's definitions: the housekeeping job and its weekly schedule, merged by pipeline/definitions.py.

The job uses the `warehouse` resource the root provides. Tick retention is the instance's business, not a job's:
INSTANCE_RETENTION_FILE holds the `retention:` block for dagster.yaml, which the daemon applies.
"""

from pathlib import Path

import dagster as dg

from pipeline.maintenance.jobs import maintenance_job
from pipeline.maintenance.schedules import maintenance_schedule

INSTANCE_RETENTION_FILE = Path(__file__).with_name("instance_retention.yaml")


def maintenance_definitions() -> dg.Definitions:
    return dg.Definitions(jobs=[maintenance_job], schedules=[maintenance_schedule])
