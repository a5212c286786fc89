"""The maintenance job: purge expired runs with their event logs, prune old compute logs and the dbt invocation
folders failed or killed runs left, drop leftover tables.

One config for the whole run, handed to every step by a config mapping, so a dry run is a dry run everywhere.
The steps run in one process: they are small, and DuckDB takes one writer at a time. Each step logs a summary
and reports its lists as output metadata (`deleted` or, in a dry run, `would_delete`; `kept`; `failed`).
"""

import datetime as dt
from collections.abc import Sequence

import dagster as dg
from pydantic import Field

from pipeline.lib.dbt.manifest import dbt_target_dir
from pipeline.lib.housekeeping import (
    Cleanup,
    drop_leftover_tables,
    local_compute_log_dir,
    prune_compute_logs,
    prune_dbt_target_folders,
    purge_runs,
    runs_in_flight,
)
from pipeline.lib.warehouse import Warehouse


class MaintenanceConfig(dg.Config):
    dry_run: bool = Field(default=False, description="Report what would be deleted; delete nothing.")
    keep_days: int = Field(default=30, description="Successful runs and their event logs are kept this many days.")
    keep_failed_days: int = Field(default=90, description="Failed and canceled runs are kept this many days.")
    keep_compute_log_days: int = Field(default=14, description="Captured stdout/stderr files are kept this many days.")
    keep_dbt_target_days: int = Field(
        default=7,
        description="dbt invocation folders left by failed or killed runs (their compiled SQL and dbt.log, "
        "for debugging) are kept this many days; successful builds remove their own.",
    )
    keep_latest_materializations: bool = Field(
        default=True,
        description="Keep any run holding the latest materialization of an asset or partition, however old: "
        "deleting it deletes that materialization, and the asset or day would look never materialized.",
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _report(context: dg.OpExecutionContext, what: str, cleanup: Cleanup) -> None:
    context.log.info(cleanup.summary(what))
    if cleanup.failed:
        raise dg.Failure(
            description=f"{what}: {len(cleanup.failed)} could not be deleted: {'; '.join(cleanup.failed[:5])}",
            metadata=cleanup.metadata(),
        )
    context.add_output_metadata(cleanup.metadata())


@dg.op(
    name="purge_runs",
    out=dg.Out(dg.Nothing),
    description="Delete finished runs past their retention, with their event logs; never unfinished runs.",
)
def purge_runs_op(context: dg.OpExecutionContext, config: MaintenanceConfig) -> None:
    cleanup = purge_runs(
        context.instance,
        _now(),
        config.keep_days,
        config.keep_failed_days,
        config.dry_run,
        current_run_id=context.run_id,
        keep_latest_materializations=config.keep_latest_materializations,
    )
    _report(context, "runs", cleanup)


@dg.op(
    name="prune_compute_logs",
    out=dg.Out(dg.Nothing),
    description="Delete captured stdout/stderr files older than keep_compute_log_days, when they are on local disk.",
)
def prune_compute_logs_op(context: dg.OpExecutionContext, config: MaintenanceConfig) -> None:
    base_dir = local_compute_log_dir(context.instance)
    if base_dir is None:
        manager = type(context.instance.compute_log_manager).__name__
        cleanup = Cleanup(
            config.dry_run,
            note=f"skipped: {manager} keeps no local log files to prune "
            "(logs in S3 expire by the bucket's lifecycle rules)",
        )
    else:
        cleanup = prune_compute_logs(
            base_dir, _now(), config.keep_compute_log_days, config.dry_run, runs_in_flight(context.instance)
        )
    _report(context, "compute log files", cleanup)


@dg.op(
    name="prune_dbt_target_folders",
    out=dg.Out(dg.Nothing),
    description="Delete the dbt invocation folders (<op>-<run>-<hash>) in dbt's target directory older than "
    "keep_dbt_target_days; never the project's own files there, never those of runs in flight.",
)
def prune_dbt_target_folders_op(context: dg.OpExecutionContext, config: MaintenanceConfig) -> None:
    cleanup = prune_dbt_target_folders(
        dbt_target_dir(),
        _now(),
        config.keep_dbt_target_days,
        config.dry_run,
        runs_in_flight(context.instance, exclude=context.run_id),
    )
    _report(context, "dbt target folders", cleanup)


def maintenance_job(load_schemas: Sequence[str]) -> dg.JobDefinition:
    """The job, cleaning the warehouse's scratch tables in these schemas (every pipeline's load schemas)."""

    @dg.op(
        name="drop_leftover_tables",
        out=dg.Out(dg.Nothing),
        description="Drop dbt's __dbt_tmp/__dbt_backup relations and the loaders' <table>_load scratch tables "
        "in every pipeline's load schemas.",
    )
    def drop_leftover_tables_op(
        context: dg.OpExecutionContext, config: MaintenanceConfig, warehouse: Warehouse
    ) -> None:
        cleanup = drop_leftover_tables(
            warehouse,
            load_schemas,
            config.dry_run,
            runs_in_flight(context.instance, exclude=context.run_id),
        )
        _report(context, "warehouse tables", cleanup)

    STEPS = (purge_runs_op, prune_compute_logs_op, prune_dbt_target_folders_op, drop_leftover_tables_op)

    @dg.config_mapping
    def every_step_config(config: MaintenanceConfig) -> dg.RunConfig:
        return dg.RunConfig(ops={step.name: config for step in STEPS})

    @dg.job(
        name="maintenance",
        config=every_step_config,
        executor_def=dg.in_process_executor,
        description="Weekly housekeeping: expired runs and their event logs, old compute logs, leftover dbt invocation "
        "folders, leftover warehouse tables. "
        "Launch with dry_run: true to see what it would delete.",
    )
    def maintenance_job():
        purge_runs_op()
        prune_compute_logs_op()
        prune_dbt_target_folders_op()
        drop_leftover_tables_op()

    return maintenance_job
