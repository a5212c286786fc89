"""Running `dbt build` for an asset step: the partition window in dbt's environment, the events handed to
Dagster with each model's row counts, the parse state kept for the next invocation, the invocation's folder
removed once the build succeeded, and a failure classified as data or transient.

The run's partition window reaches incremental models as DBT_WINDOW_START / DBT_WINDOW_END in dbt's
environment, not as `--vars` (a change of vars makes dbt re-parse the whole project:
dbt_project/macros/partition_window.sql).
"""

import datetime as dt
from collections.abc import Iterator
from typing import Any

import dagster as dg

from pipeline.lib.dbt.cli import LocalDbtCliResource
from pipeline.lib.dbt.manifest import keep_partial_parse_state, remove_invocation_folder
from pipeline.lib.dbt.row_counts import BuiltModel, record_row_counts
from pipeline.lib.transient import TransientFault
from pipeline.lib.warehouse import Warehouse

# dbt reports a lost or refused warehouse connection only in its message (its adapters' own words, via
# psycopg2 and DuckDB): those failures are transient; any other (a SQL error, a missing relation) is not.
LOST_CONNECTION = (
    "could not connect",
    "connection refused",
    "connection reset",
    "connection timed out",
    "server closed the connection",
    "terminating connection",
    "ssl syscall error",
    "could not receive data from server",
)

# A test runs with the models it tests once all of its models are built or upstream of the selection:
# building the dimensions alone must not run the fact's relationship tests before the fact exists.
DBT_BUILD = ["build", "--indirect-selection", "buildable"]


def window_variables(window: dg.TimeWindow) -> dict[str, str]:
    """dbt's partition window for a run, [start, end) of its time window (`context.partition_time_window`): dates
    for daily and monthly partitions, hours (YYYY-MM-DDTHH:00) for hourly ones."""
    start, end = (moment.astimezone(dt.UTC) for moment in (window.start, window.end))
    if any(moment.time() != dt.time() for moment in (start, end)):
        return {"DBT_WINDOW_START": f"{start:%Y-%m-%dT%H:00}", "DBT_WINDOW_END": f"{end:%Y-%m-%dT%H:00}"}
    return {"DBT_WINDOW_START": start.date().isoformat(), "DBT_WINDOW_END": end.date().isoformat()}


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


def dbt_build(
    dbt: LocalDbtCliResource,
    warehouse: Warehouse,
    context: dg.AssetExecutionContext,
    args: list[str],
    partitioned: bool = False,
) -> Iterator[Any]:
    """`dbt build` (in the run's partition window when `partitioned`), its events with each model's row counts
    (pipeline/lib/dbt/row_counts.py); a failed test or a SQL error fails the step at once, a lost warehouse
    connection is retried.

    dbt writes no JSON artifacts (--no-write-json): the results reach Dagster as events, and writing the
    manifest twice per invocation cost ~0.3 s (benchmark figure 3). The SQL it ran (compiled/, run/) and
    dbt.log are in the invocation's target folder: removed when the build succeeds, kept when it fails.
    """
    if partitioned:
        dbt = dbt.with_variables(window_variables(context.partition_time_window))
    invocation = dbt.cli([*args, "--no-write-json"], context=context, raise_on_error=False)
    tests, events, built = [], [], {}
    for message in invocation.stream_raw_events():
        for event in message.to_default_asset_events(
            manifest=invocation.manifest,
            dagster_dbt_translator=invocation.dagster_dbt_translator,
            context=context,
            target_path=invocation.target_path,
            project=invocation.project,
        ):
            if isinstance(event, dg.Output):
                built[context.asset_key_for_output(event.output_name)] = BuiltModel.from_node_info(
                    message.raw_event["data"]["node_info"]
                )
            if name := failed_test(event):
                tests.append(name)
            events.append(event)
    # The counts go on the materializations, so they are taken before the models' events are handed over, and
    # once dbt has let go of the warehouse (a DuckDB file has one writer at a time).
    record_row_counts(context, warehouse, built)
    yield from events
    try:
        keep_partial_parse_state(invocation.target_path)
    except OSError as exc:  # only a speed-up: a read-only target folder must not fail the build
        context.log.warning(f"dbt's parse state was not kept ({exc}); the next dbt command parses the whole project")
    if invocation.is_successful():
        # Each invocation's folder is ~1.2 MB and an hourly pipeline would fill the disk with them. Only a
        # successful one is removed: a failed build's compiled SQL is what one debugs with (dbt's error in the
        # Dagster log names its path), so it stays until the maintenance job prunes it (prune_dbt_target_folders),
        # as it does the folders of killed runs, which never get here. Not in a `finally` for the same reason.
        try:
            remove_invocation_folder(invocation.target_path)
        except (OSError, ValueError) as exc:  # housekeeping only: the data is built; the maintenance job prunes it
            context.log.warning(f"dbt's invocation folder {invocation.target_path} was not removed ({exc})")
        return
    if tests:
        # The data breaks the contract: running the same build again cannot pass.
        raise dg.Failure(description=f"dbt tests failed: {', '.join(tests)}", allow_retries=False)
    error = str(invocation.get_error() or "see the dbt log above")
    if any(words in error.lower() for words in LOST_CONNECTION):
        raise TransientFault(f"dbt build failed, the warehouse connection failed ({error}); retrying")
    raise RuntimeError(f"dbt build failed ({error})")
