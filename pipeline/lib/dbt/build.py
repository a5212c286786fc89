"""Running `dbt build` for an asset step: the partition window in dbt's environment, the events streamed to
Dagster, the parse state kept for the next invocation, and a failure classified as data or transient.

The run's partition window reaches incremental models as DBT_WINDOW_START / DBT_WINDOW_END in dbt's
environment, not as `--vars` (a change of vars makes dbt re-parse the whole project:
dbt_project/macros/partition_window.sql).
"""

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource

from pipeline.lib.dbt.manifest import keep_partial_parse_state
from pipeline.lib.settings import environment

# A test runs with the models it tests once all of its models are built or upstream of the selection:
# building the dimensions alone must not run the fact's relationship tests before the fact exists.
DBT_BUILD = ["build", "--indirect-selection", "buildable"]


def partition_window_env(days: list[dt.date]) -> dict[str, str]:
    """dbt's environment for a run over these days: the window [start, end)."""
    return {
        "DBT_WINDOW_START": min(days).isoformat(),
        "DBT_WINDOW_END": (max(days) + dt.timedelta(days=1)).isoformat(),
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


def build(
    dbt: DbtCliResource,
    context: dg.AssetExecutionContext,
    args: list[str],
    window: Mapping[str, str] | None = None,
) -> Iterator[Any]:
    """`dbt build` (in the window), streaming its events; a failed test fails the step at once, other errors
    are retried.

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
