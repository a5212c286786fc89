"""The dbt models as assets: the incremental ones (songplays, time, users) by daily partition, in one dbt
invocation per run; songs and artists whole, in the song catalogue's job.

dbt tests become asset checks (error severity blocks downstream). The run's partition window reaches
the incremental models as SPARKIFY_WINDOW_START / SPARKIFY_WINDOW_END in dbt's environment, not as
`--vars` (a change of vars makes dbt re-parse the whole project: macros/partition_window.sql).
"""

import datetime as dt
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from pipeline.dbt_manifest import keep_partial_parse_state, prepare_manifest
from pipeline.retries import retried_on_fault
from pipeline.settings import DBT_PROJECT_DIR, Settings, environment
from pipeline.sparkify.partitions import daily_backfill_policy, daily_partitions, days_of
from pipeline.sparkify.raw_assets import GROUP
from pipeline.sparkify.staging_assets import WAITING_FOR_SONGS, song_catalogue_loaded

# The manifest is parsed here if it is missing or older than the project (a fresh clone, an edited
# model); in the image it was parsed at build time and this does nothing.
prepare_manifest()
sparkify_dbt_project = DbtProject(
    project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR, target=Settings.from_env().warehouse
)

INCREMENTAL_MODELS = "config.materialized:incremental"
# A test runs with the models it tests once all of its models are built or upstream of the selection:
# building the dimensions alone must not run the fact's relationship tests before the fact exists.
DBT_BUILD = ["build", "--indirect-selection", "buildable"]


class SparkifyDbtTranslator(DagsterDbtTranslator):
    """Models are keyed by their schema (analytics/songplays); sources keep staging/<table>."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "model":
            return dg.AssetKey(["analytics", dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str:
        return GROUP


def partition_window_env(days: list[dt.date]) -> dict[str, str]:
    """dbt's environment for a run over these days: the window [start, end)."""
    return {
        "SPARKIFY_WINDOW_START": min(days).isoformat(),
        "SPARKIFY_WINDOW_END": (max(days) + dt.timedelta(days=1)).isoformat(),
    }


def failed_test(event: Any) -> str | None:
    """The dbt test's name when the event is the check result of a test the data failed, else None.

    dagster-dbt gives every test result dbt's status: "fail" is data breaking the test, "error" is
    SQL that could not run.
    """
    if not isinstance(event, (dg.AssetCheckResult, dg.AssetCheckEvaluation)) or event.passed:
        return None
    status = event.metadata.get("status")  # metadata values, as every check result holds them
    if status is None or status.value != "fail":
        return None
    return event.metadata["unique_id"].value.split(".")[2]  # test.<project>.<test name>.<hash>


def build(dbt: DbtCliResource, context: dg.AssetExecutionContext, args: list[str], window: Mapping[str, str] | None = None):
    """`dbt build` (in the window), streaming its events; a failed test fails the step at once, other errors are retried.

    dbt writes no JSON artifacts (--no-write-json): the results reach Dagster as events, and writing the
    manifest twice per invocation cost ~0.3 s (benchmark figure 3). The SQL it ran stays in the
    invocation's target folder (compiled/, run/), as does the partial-parse state.
    """
    with environment(**(window or {})):  # read when dbt's process starts, inside cli()
        invocation = dbt.cli([*args, "--no-write-json"], context=context, raise_on_error=False)
    tests = []
    for event in invocation.stream():
        if name := failed_test(event):
            tests.append(name)
        yield event
    try:
        keep_partial_parse_state(invocation.target_path)
    except OSError as exc:  # only a speed-up: a read-only target folder must not fail the build
        context.log.warning(f"dbt's parse state was not kept ({exc}); the next dbt command parses the whole project")
    if invocation.is_successful():
        return
    if tests:
        # The data breaks the contract: running the same build again cannot pass.
        raise dg.Failure(description=f"dbt tests failed: {', '.join(tests)}", allow_retries=False)
    raise RuntimeError(f"dbt build failed ({invocation.get_error() or 'see the dbt log above'}); retrying may help")


@dbt_assets(
    manifest=sparkify_dbt_project.manifest_path,
    project=sparkify_dbt_project,
    select=INCREMENTAL_MODELS,
    partitions_def=daily_partitions,
    backfill_policy=daily_backfill_policy,
    dagster_dbt_translator=SparkifyDbtTranslator(),
)
@retried_on_fault
def sparkify_daily_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    if not song_catalogue_loaded(context.instance):  # else dbt fails on the missing staging_songs
        raise dg.Failure(description=f"{WAITING_FOR_SONGS}: run it first (song_files_sensor does)", allow_retries=False)
    yield from build(dbt, context, DBT_BUILD, partition_window_env(days_of(context)))


@dbt_assets(
    manifest=sparkify_dbt_project.manifest_path,
    project=sparkify_dbt_project,
    exclude=INCREMENTAL_MODELS,
    dagster_dbt_translator=SparkifyDbtTranslator(),
)
@retried_on_fault
def sparkify_dimension_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    yield from build(dbt, context, DBT_BUILD)
