"""Freshness checks of time-partitioned assets, with the sensor that evaluates them on the clock.

A partition that should have arrived by its deadline and did not shows up in the UI as a failed check.
Dagster 1.13 supersedes these checks with FreshnessPolicy, which is not a check: it would remove the checks
and their sensors, which deployments alert on and which the code location promises by name. Only that
notice is silenced, here where the checks are built.
"""

import warnings
from collections.abc import Sequence

import dagster as dg

CHECK_NAME = "freshness_check"  # the name Dagster gives each of these checks


def partition_freshness(
    assets: Sequence[dg.AssetsDefinition], deadline_cron: str, sensor_name: str, default_status: dg.DefaultSensorStatus
) -> tuple[Sequence[dg.AssetChecksDefinition], dg.SensorDefinition]:
    """The assets' checks (each asset's latest complete partition materialized by the last `deadline_cron`
    tick, UTC) and the sensor that evaluates them after each deadline: running in production only."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.SupersessionWarning)
        checks = dg.build_time_partition_freshness_checks(assets=assets, deadline_cron=deadline_cron, timezone="UTC")
        sensor = dg.build_sensor_for_freshness_checks(
            freshness_checks=checks, name=sensor_name, default_status=default_status
        )
    return checks, sensor


def freshness_checks_job(defs: dg.Definitions, groups: Sequence[str], name: str):
    """A job of the freshness checks of the groups' assets, for a command that evaluates them now (the demo), as
    their sensors do on the clock. Made on call, so it is not a job of the code location (whose jobs load data)."""
    graph = defs.resolve_asset_graph()
    keys = [
        key
        for key in graph.asset_check_keys
        if key.name == CHECK_NAME and graph.get(key.asset_key).group_name in groups
    ]
    return dg.define_asset_job(
        name,
        selection=dg.AssetSelection.checks(*keys),
        description=f"The freshness checks of {', '.join(groups)}, evaluated once (what their sensors run).",
    )
