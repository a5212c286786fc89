"""Where this code location runs (DAGSTER_DEPLOYMENT=local|prod), and what follows from it.

On a laptop, sensors start stopped: opening the UI must not set off runs by itself. In production they
start running, so a fresh deployment is unattended from its first minute.
"""

import dagster as dg

from pipeline.settings import env

DEPLOYMENTS = ("local", "prod")


def deployment() -> str:
    name = env("DAGSTER_DEPLOYMENT").lower()
    if name not in DEPLOYMENTS:
        raise ValueError(f"DAGSTER_DEPLOYMENT={name!r}: choose one of {', '.join(DEPLOYMENTS)}")
    return name


def sensor_default_status() -> dg.DefaultSensorStatus:
    return dg.DefaultSensorStatus.RUNNING if deployment() == "prod" else dg.DefaultSensorStatus.STOPPED
