"""`dagster job backfill -j weather_hourly` over past hours, as a user runs it with the daemon: each hour reloads
from the lake (the APIs serve only current weather) and calls no API; every hour holds its cities once. The
freshness checks fail before any hour is loaded and pass once the last two hours are (whichever of them the
clock's last :30 deadline expects)."""

import datetime as dt
import os

import dagster as dg
import duckdb

from pipeline.defs.weather.partitions import KEY_FORMAT, run_hr
from pipeline.lib.freshness import freshness_checks_job
from pipeline.lib.instance import ensure_dagster_home
from tests.platform import definitions, run
from tests.test_backfill_daemon import PARTITION_TAG, backfill_through_the_daemon, stop_sensors_and_schedules
from tests.weather.test_pipeline import copy_hour, materialize

FRESHNESS = {
    f"{key}:freshness_check": key
    for key in ("raw/weather", "api_staging/weather_stage", "api_analytics/weather", "api_analytics/cocktails")
}


def freshness() -> dict[str, bool]:
    """The weather pipeline's freshness checks, evaluated now in a run of their own, as their sensor runs them."""
    defs = definitions()
    job = freshness_checks_job(defs, ["weather"], "weather_freshness_checks")
    outcome = run(job.name, defs=dg.Definitions.merge(defs, dg.Definitions(jobs=[job])))
    return {check.name: check.passed for check in outcome.checks}


def test_job_backfill_reloads_past_hours_from_the_lake(weather_env, api_server, current_hour, tmp_path):
    ensure_dagster_home(os.environ["DAGSTER_HOME"])
    assert freshness() == dict.fromkeys(FRESHNESS, False)  # nothing loaded yet
    assert materialize(current_hour).ok  # fetched now, in process
    hours = [current_hour - dt.timedelta(hours=2), current_hour - dt.timedelta(hours=1)]
    for hour in hours:
        copy_hour(weather_env, current_hour, hour)
    requests = api_server.requests()
    keys = [hour.strftime(KEY_FORMAT) for hour in hours]

    with dg.DagsterInstance.get() as instance:
        stop_sensors_and_schedules(instance)
        _, runs, _ = backfill_through_the_daemon(
            instance, dict(os.environ), tmp_path / "daemon.log", "weather_hourly", keys[0], keys[-1]
        )

    assert sorted(r.tags.get(PARTITION_TAG) for r in runs) == keys
    assert api_server.requests() == requests
    with duckdb.connect(weather_env["DUCKDB_PATH"], read_only=True) as connection:
        per_hour = connection.execute(
            "select run_hr, count(*), count(distinct location_name) from api_analytics.weather group by run_hr "
            "order by run_hr"
        ).fetchall()
    assert per_hour == [(run_hr(hour), 5, 5) for hour in [*hours, current_hour]]
    assert freshness() == dict.fromkeys(FRESHNESS, True)
