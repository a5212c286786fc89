"""The one place this project uses Dagster's or dagster-dbt's private code (dagster 1.13, dagster-dbt 0.29).

Each item says why no public API does the job; everything else uses `import dagster as dg` and dagster-dbt's
public API. On an upgrade, check these first: each may have gained a public form, or changed.
"""

import importlib.metadata
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path

import dagster as dg
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,
)
from dagster._core.events import JobFailureData, RunFailureReason
from dagster._core.storage.local_compute_log_manager import LocalComputeLogManager
from packaging import version


def report_run_failed_as_unexpected_termination(instance: dg.DagsterInstance, run: dg.DagsterRun, message: str) -> None:
    """Mark `run` FAILURE with the reason UNEXPECTED_TERMINATION, as Dagster's run monitoring does for a run
    whose worker died.

    Private because `DagsterInstance.report_run_failed` takes a reason only inside a JobFailureData, and dagster
    exports neither JobFailureData nor RunFailureReason. The reason becomes the run's `dagster/failure_reason` tag,
    which is what the UI shows and what run retries read: they re-execute any failed run except a STEP_FAILURE
    while retry_on_asset_or_op_failure is false (deploy/dagster.yaml). Failing it without a reason would also be
    retried, but would hide why it failed.
    """
    instance.report_run_failed(
        run, message, JobFailureData(error=None, failure_reason=RunFailureReason.UNEXPECTED_TERMINATION)
    )


def local_compute_log_base_dir(instance: dg.DagsterInstance) -> Path | None:
    """The directory the instance's LocalComputeLogManager writes to, or None when its manager is another one.

    Private because dagster exports no compute log manager class (LocalComputeLogManager is importable only
    from dagster._core.storage), and the manager has no public accessor for its directory. `_base_dir` is the
    resolved directory; the public `inst_data.config_dict` holds the configured value, which may be an
    unresolved `env:` source, and is absent for a manager built without config.
    """
    manager = instance.compute_log_manager
    if not isinstance(manager, LocalComputeLogManager):
        return None
    return Path(manager._base_dir)


def latest_materialization_target(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, partition: str
) -> AssetCheckEvaluationTargetMaterializationData | None:
    """The partition's latest materialization, as the `target_materialization_data` of an AssetCheckEvaluation.

    Private because dagster exports dg.AssetCheckEvaluation but not the type of that field. A check that logs
    one evaluation per partition of a range run (Sparkify's reconciliation check) must set it: the UI counts a
    partition's evaluation only when it targets that partition's latest materialization, and shows the
    partition as "Missing" otherwise. Dagster fills it in for a returned AssetCheckResult, but only for a run
    of a single partition, never per partition of a range.
    """
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=[partition]), limit=1
    ).records
    if not records:
        return None
    latest = records[0]
    return AssetCheckEvaluationTargetMaterializationData(
        storage_id=latest.storage_id, run_id=latest.run_id, timestamp=latest.timestamp
    )


class DbtCliResourceWithoutProbes:
    """Overrides of two private hooks of dagster_dbt.DbtCliResource, for a subclass that lists this class
    before DbtCliResource among its bases. Valid only when the dbt it runs is this environment's dbt-core.

    dagster-dbt has no field, flag or environment variable for either (read in dagster_dbt/core/resource.py,
    `DbtCliResource.cli`): it always asks the executable for its version and, for dbt-core, always builds an
    adapter before each command. What each costs a run worker (measured with `python -m bench`) is below.
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        # dagster-dbt runs `<dbt_executable> --version` once per resource, so once per run worker: a second
        # Python start of ~2 s. With the warm dbt the executable is this Python, whose `--version` would even be
        # read as dbt Fusion's (major >= 2). The dbt here is the installed dbt-core package: read its metadata.
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
        # The adapter (the profile loaded and all of dbt's ~500 macros parsed, ~1 s per command) serves only
        # fetch_row_counts() and fetch_column_metadata(), which this project does not call (the `*_has_rows`
        # checks count rows themselves); without it those two would say so. dagster-dbt builds it unasked.
        return None


def check_evaluations_after(
    instance: dg.DagsterInstance, storage_id: int, limit: int
) -> Mapping[int, dg.EventLogEntry]:
    """The instance's asset-check evaluations stored after `storage_id`, oldest first, keyed by storage id.

    Not a documented API because dagster 1.13 has `fetch_*` record queries only for materializations,
    observations and run status changes, and `DagsterInstance.get_event_records(EventRecordsFilter(...))` is
    deprecated and refuses a storage-id cursor on the default local SQLite storage (which keeps events per run).
    The event log storage's `get_logs_for_all_runs_by_log_id` (EventLogStorage is public, this method is not
    marked so) reads the cross-run index every storage keeps check evaluations in: Postgres' one table, SQLite's
    index shard. Dagster's own run-retry daemon reads run failures the same way.
    """
    return instance.event_log_storage.get_logs_for_all_runs_by_log_id(
        after_cursor=storage_id, dagster_event_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION, limit=limit
    )


def latest_event_storage_id(instance: dg.DagsterInstance) -> int:
    """The greatest storage id of that cross-run index (0 when empty): where reading it from now on starts."""
    return instance.event_log_storage.get_maximum_record_id() or 0
