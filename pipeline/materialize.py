"""Materializing Sparkify from the command line into the local Dagster instance, and the demo built on it.

Runs go through the instance in DAGSTER_HOME, so `dagster dev` shows them afterwards with their logs.
"""

import contextlib
import datetime as dt
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from pipeline.maintenance.definitions import INSTANCE_RETENTION_FILE
from pipeline.resources import warehouse_resource
from pipeline.settings import LOCAL_DIR, Settings, export_defaults

# Runs, event logs and schedules in SQLite files in DAGSTER_HOME. One run at a time: the embedded DuckDB
# file takes one writer, and backfills of a job launch one run per day.
LOCAL_INSTANCE_CONFIG = """\
telemetry:
  enabled: false
run_coordinator:
  module: dagster._core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: 1
"""
QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
STAGING_TABLES = ("staging_events", "staging_songs")
ANALYTICS_TABLES = ("songplays", "users", "songs", "artists", "time")


def summary_tables(settings: Settings) -> list[str]:
    return [f"{settings.staging_schema}.{t}" for t in STAGING_TABLES] + [
        f"{settings.analytics_schema}.{t}" for t in ANALYTICS_TABLES
    ]


@dataclass(frozen=True)
class CheckOutcome:
    name: str
    passed: bool
    blocking: bool


@dataclass(frozen=True)
class Outcome:
    run_id: str
    success: bool
    checks: tuple[CheckOutcome, ...]
    errors: tuple[str, ...]  # why each failed step failed

    @property
    def ok(self) -> bool:
        return self.success and all(c.passed for c in self.checks if c.blocking)


def ensure_dagster_home() -> None:
    """DAGSTER_HOME exists and has a dagster.yaml; the local default keeps everything in that folder."""
    home = Path(os.environ["DAGSTER_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(LOCAL_INSTANCE_CONFIG + INSTANCE_RETENTION_FILE.read_text())


def load_definitions() -> dg.Definitions:
    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    warnings.filterwarnings("ignore", category=dg.PreviewWarning)
    export_defaults()
    ensure_dagster_home()
    from pipeline.definitions import build_definitions

    return build_definitions(Settings.from_env())


def _days_to_run(start: dt.date | None, end: dt.date | None) -> list[dt.date]:
    """The range asked for; an open end defaults to the first or last day present in the lake."""
    if start is None or end is None:
        from pipeline.lake import open_lake
        from pipeline.sparkify.lake_files import days_present

        data_uri = Settings.from_env().data_uri
        present = days_present(open_lake(data_uri))
        if not present:
            raise SystemExit(f"no day files under {data_uri}/log_data/: nothing to materialize")
        start, end = start or present[0], end or present[-1]
    if end < start:
        raise SystemExit(f"--end {end} is before --start {start}")
    return [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]


def _execute(job_name: str, tags: dict[str, str], heading: str) -> Outcome:
    """One run of the job in this process, through the instance in DAGSTER_HOME."""
    defs = load_definitions()
    job = defs.resolve_job_def(job_name)
    # dbt echoes its own log to stdout; the run's logs are in the instance (the UI shows them), so the
    # terminal keeps only this command's summary and the console's warnings.
    log_path = Path(os.environ["DAGSTER_HOME"]) / "logs" / f"materialize_{job_name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    print(f"{heading}; step output in {log_path}")
    with log_path.open("w") as log, contextlib.redirect_stdout(log):
        result = job.execute_in_process(
            instance=dg.DagsterInstance.get(), tags=tags, run_config=QUIET_LOGS, raise_on_error=False
        )
    asset_graph = defs.resolve_asset_graph()
    checks = tuple(
        CheckOutcome(
            name=f"{e.asset_key.to_user_string()}:{e.check_name}",
            passed=e.passed,
            blocking=asset_graph.get_check_spec(e.asset_check_key).blocking,
        )
        for e in result.get_asset_check_evaluations()
    )
    return Outcome(run_id=result.run_id, success=result.success, checks=checks, errors=_step_errors(result))


def materialize_songs() -> Outcome:
    """One run of `sparkify_songs`: song files not loaded before into staging_songs, then songs and artists."""
    return _execute("sparkify_songs", {}, "Materializing sparkify_songs (the song catalogue)")


def materialize_days(days: list[dt.date]) -> Outcome:
    """One run of `sparkify_daily` over the days, as one partition range (the song catalogue must be loaded)."""
    tags = {ASSET_PARTITION_RANGE_START_TAG: days[0].isoformat(), ASSET_PARTITION_RANGE_END_TAG: days[-1].isoformat()}
    return _execute("sparkify_daily", tags, f"Materializing sparkify_daily for {days[0]} .. {days[-1]} ({len(days)} days)")


def _step_errors(result: dg.ExecuteInProcessResult) -> tuple[str, ...]:
    errors = []
    for event in result.all_events:
        if event.is_step_failure:
            data = event.step_failure_data
            user = data.user_failure_data
            error = data.error
            while error.cause is not None:  # the user's own exception, not Dagster's wrapper around it
                error = error.cause
            message = user.description if user and user.description else error.message.strip()
            errors.append(f"{event.step_key}: {message}")
    return tuple(errors)


def print_summary(runs: list[tuple[str, Outcome]]) -> None:
    """Each run (described by its label) with its failures, then the rows of every table and the checks."""
    settings = Settings.from_env()
    warehouse = warehouse_resource(settings).process_config_and_initialize()

    print()
    for label, outcome in runs:
        print(f"Run {outcome.run_id} ({label}): {'succeeded' if outcome.success else 'FAILED'}")
        for error in outcome.errors:
            print(f"  failed step {error}")
    print("\nRows per table:")
    for table in summary_tables(settings):
        try:
            count = f"{warehouse.row_count(table):>10,}"
        except Exception as exc:  # a table the failed run never created
            count = f"{'-':>10}  ({type(exc).__name__})"
        print(f"  {table:<26}{count}")
    checks = [check for _, outcome in runs for check in outcome.checks]
    passed = sum(c.passed for c in checks)
    print(f"\nAsset checks: {passed} passed, {len(checks) - passed} failed")
    for check in checks:
        if not check.passed:
            print(f"  FAILED{' (blocking)' if check.blocking else ''}: {check.name}")


def materialize_all(days: list[dt.date]) -> list[tuple[str, Outcome]]:
    """The song catalogue, then the days in one run (not run if the songs failed): what the two sensors do, in order."""
    runs = [("sparkify_songs", materialize_songs())]
    if runs[0][1].ok:  # the daily run joins plays to the staged songs
        runs.append((f"sparkify_daily over {days[0]} .. {days[-1]}, {len(days)} days", materialize_days(days)))
    return runs


def materialize_command(start: dt.date | None, end: dt.date | None) -> int:
    export_defaults()
    days = _days_to_run(start, end)
    runs = materialize_all(days)
    print_summary(runs)
    return 0 if all(outcome.ok for _, outcome in runs) else 1  # a failed songs run is the last one


def demo_command() -> int:
    from pipeline.sparkify.sample_data import SampleSpec, generate_lake

    lake_dir = LOCAL_DIR / "lake"
    if os.environ.get("SPARKIFY_DATA_URI", "") not in ("", str(lake_dir)):
        print(f"demo: using the sample lake {lake_dir}, not SPARKIFY_DATA_URI={os.environ['SPARKIFY_DATA_URI']}")
    os.environ["SPARKIFY_DATA_URI"] = str(lake_dir)
    lake = generate_lake(lake_dir, SampleSpec(days=7, events_per_day=800, song_files=300, users=60))
    print(f"Sample lake: {lake.event_files} day files ({lake.events:,} events), {lake.song_files} song files in {lake_dir}")
    status = materialize_command(None, None)
    print(
        "\nOpen the UI to see these runs, their logs and the asset graph:\n"
        f"  make ui        (dagster dev on http://127.0.0.1:3000, DAGSTER_HOME={os.environ['DAGSTER_HOME']})"
    )
    return status
