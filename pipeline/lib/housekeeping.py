"""The housekeeping itself: which runs, compute-log files, dbt invocation folders and warehouse tables are
leftovers, and deleting them.

Each function takes what it cleans (the instance, a directory, the warehouse), the moment ages are measured from
(`now`, so a test can choose it) and `dry_run`, and returns a `Cleanup`. A dry run finds the leftovers exactly as
a real one does and only skips the deleting, so its list is what a real run would delete.
"""

import datetime as dt
import os
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from pipeline.lib.dagster_internals import local_compute_log_base_dir
from pipeline.lib.dbt.manifest import INVOCATION_FOLDER, is_invocation_folder, remove_invocation_folder
from pipeline.lib.identifiers import checked_identifier, quote
from pipeline.lib.warehouse import Warehouse

REPORTED_NAMES = 100  # names listed in a step's metadata; the counts are always complete
FETCH_BATCH = 500

SUCCEEDED = (dg.DagsterRunStatus.SUCCESS,)
FAILED = (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)
IN_FLIGHT = (dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING)

# What LocalComputeLogManager writes per capture: <base>/<run_id>/compute_logs/<key>.out|.err|.complete, and
# .out.partial/.err.partial while a capture is open.
COMPUTE_LOG_SUFFIXES = (".out", ".err", ".complete", ".partial")

# dbt's intermediate and backup relations (`make_intermediate_relation`, `make_backup_relation`): a run that
# dies between creating one and its swap leaves it behind. Its session-temporary relations vanish by themselves.
DBT_LEFTOVER_SUFFIXES = ("__dbt_tmp", "__dbt_backup")
SCRATCH_SUFFIX = "_load"  # the loaders' scratch table beside its target (redshift.py); normally session-temporary

# information_schema.tables answers alike on DuckDB, Postgres and Redshift. Session-temporary tables have the
# type LOCAL TEMPORARY, so only regular tables and views are listed.
RELATIONS_SQL = (
    "select table_schema, table_name, table_type from information_schema.tables"
    " where table_catalog = current_database()"
    " and table_schema not in ('information_schema', 'pg_catalog')"
    " and table_type in ('BASE TABLE', 'VIEW')"
)


@dataclass(frozen=True)
class Cleanup:
    """What one part of the housekeeping deleted (in a dry run: would delete), and what it left on purpose."""

    dry_run: bool
    deleted: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()  # leftovers left in place; `note` says why
    failed: tuple[str, ...] = ()  # "name: error" of each deletion that failed
    note: str = ""

    @property
    def verb(self) -> str:
        return "would_delete" if self.dry_run else "deleted"

    def summary(self, what: str) -> str:
        counts = [f"{len(self.deleted)} {self.verb.replace('_', ' ')}"]
        counts += [f"{len(names)} {label}" for label, names in (("kept", self.kept), ("failed", self.failed)) if names]
        return f"{what}: {', '.join(counts)}" + (f" ({self.note})" if self.note else "")

    def metadata(self) -> dict[str, dg.MetadataValue]:
        metadata = {"dry_run": dg.MetadataValue.bool(self.dry_run)}
        for label, names in ((self.verb, self.deleted), ("kept", self.kept), ("failed", self.failed)):
            metadata[f"{label}_count"] = dg.MetadataValue.int(len(names))
            metadata[label] = dg.MetadataValue.json(list(names[:REPORTED_NAMES]))
        if self.note:
            metadata["note"] = dg.MetadataValue.text(self.note)
        return metadata


def _cutoff(now: dt.datetime, days: int, name: str) -> dt.datetime:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if days < 0:
        raise ValueError(f"{name} must not be negative, not {days}")
    # Run storage compares naive UTC timestamps: hand it UTC.
    return now.astimezone(dt.UTC) - dt.timedelta(days=days)


def runs_in_flight(instance: dg.DagsterInstance, exclude: str | None = None) -> list[str]:
    """Runs starting, running or being canceled right now (queued ones have not touched anything yet)."""
    records = instance.get_run_records(filters=dg.RunsFilter(statuses=list(IN_FLIGHT)))
    return [r.dagster_run.run_id for r in records if r.dagster_run.run_id != exclude]


# Runs and their event logs


def expired_runs(
    instance: dg.DagsterInstance, now: dt.datetime, keep_days: int, keep_failed_days: int
) -> list[dg.RunRecord]:
    """Finished runs past their retention, oldest first: successes after `keep_days`, failures and cancellations
    after `keep_failed_days`, counted from their last update (the finish, for a finished run).

    Only finished statuses are asked for, so a queued, starting, running or canceling run is never among them.
    """
    records = []
    for statuses, days, name in ((SUCCEEDED, keep_days, "keep_days"), (FAILED, keep_failed_days, "keep_failed_days")):
        filters = dg.RunsFilter(statuses=list(statuses), updated_before=_cutoff(now, days, name))
        records.extend(instance.get_run_records(filters=filters))
    return sorted(records, key=lambda r: r.update_timestamp)


def runs_holding_latest_materializations(instance: dg.DagsterInstance) -> set[str]:
    """Runs that hold the latest materialization of some asset, or of some partition of one.

    Deleting a run deletes its materialization events: the asset, or the day, would then look never
    materialized, in the UI and to a backfill of missing partitions.
    """
    run_ids = set()
    for key in instance.get_asset_keys():
        latest = instance.get_latest_materialization_event(key)
        if latest is not None:
            run_ids.add(latest.run_id)
        by_partition = instance.get_latest_storage_id_by_partition(key, dg.DagsterEventType.ASSET_MATERIALIZATION)
        storage_ids = sorted(by_partition.values())
        for start in range(0, len(storage_ids), FETCH_BATCH):
            batch = storage_ids[start : start + FETCH_BATCH]
            records_filter = dg.AssetRecordsFilter(asset_key=key, storage_ids=batch)
            result = instance.fetch_materializations(records_filter, limit=len(batch))
            run_ids.update(record.run_id for record in result.records)
    return run_ids


def purge_runs(
    instance: dg.DagsterInstance,
    now: dt.datetime,
    keep_days: int,
    keep_failed_days: int,
    dry_run: bool,
    current_run_id: str | None = None,
    keep_latest_materializations: bool = True,
) -> Cleanup:
    """Delete expired runs with their event logs (`DagsterInstance.delete_run`), never `current_run_id`.

    With `keep_latest_materializations`, a run holding the latest materialization of an asset or partition is
    kept, however old: see `runs_holding_latest_materializations`.
    """
    expired = [r.dagster_run.run_id for r in expired_runs(instance, now, keep_days, keep_failed_days)]
    expired = [run_id for run_id in expired if run_id != current_run_id]
    protected = runs_holding_latest_materializations(instance) if keep_latest_materializations and expired else set()
    deleted = [run_id for run_id in expired if run_id not in protected]
    if not dry_run:
        for run_id in deleted:
            instance.delete_run(run_id)
    kept = tuple(run_id for run_id in expired if run_id in protected)
    note = "kept runs hold the latest materialization of an asset or partition" if kept else ""
    return Cleanup(dry_run, tuple(deleted), kept, note=note)


# Compute logs


def local_compute_log_dir(instance: dg.DagsterInstance) -> Path | None:
    """The directory a LocalComputeLogManager writes to, or None when compute logs live elsewhere.

    A cloud manager (S3ComputeLogManager and the like) uploads each capture and removes its local copy; expiring
    the uploaded logs is the bucket's lifecycle rule's job, not this one's.
    """
    return local_compute_log_base_dir(instance)


def _remove_if_empty(directory: Path) -> None:
    try:
        directory.rmdir()
    except OSError:  # not empty (or already gone): nothing to tidy
        pass


def prune_compute_logs(
    base_dir: Path, now: dt.datetime, keep_days: int, dry_run: bool, runs_in_flight: Collection[str] = ()
) -> Cleanup:
    """Delete captured stdout/stderr files last written before `keep_days` ago.

    Only files in `<base_dir>/<run_id>/compute_logs/` are looked at: the same base directory also holds the
    filesystem IO manager's outputs (`storage/` of DAGSTER_HOME), which are not logs. The logs of runs in flight
    are left alone, however quiet their steps have been.
    """
    cutoff = _cutoff(now, keep_days, "keep_compute_log_days").timestamp()
    deleted, kept, failed = [], [], []
    for log_dir in sorted(base_dir.glob("*/compute_logs")):
        try:
            expired = [
                p
                for p in sorted(log_dir.iterdir())
                if p.is_file() and p.name.endswith(COMPUTE_LOG_SUFFIXES) and p.stat().st_mtime < cutoff
            ]
        except FileNotFoundError:  # removed meanwhile
            continue
        names = [p.relative_to(base_dir).as_posix() for p in expired]
        if log_dir.parent.name in runs_in_flight:
            kept.extend(names)
            continue
        for path, name in zip(expired, names, strict=True):
            if not dry_run:
                try:
                    path.unlink()
                except OSError as exc:
                    failed.append(f"{name}: {exc}")
                    continue
            deleted.append(name)
        if not dry_run:
            _remove_if_empty(log_dir)
            _remove_if_empty(log_dir.parent)  # keeps the run's directory if IO manager outputs are in it
    note = "kept files belong to runs in flight" if kept else ""
    return Cleanup(dry_run, tuple(deleted), tuple(kept), tuple(failed), note)


# dbt's invocation folders


def _last_written(folder: Path) -> float:
    """The newest modification time of the folder and anything in it: a folder dbt still writes to is young."""
    newest = folder.stat().st_mtime
    for root, dirs, files in os.walk(folder):
        for name in (*dirs, *files):
            try:
                newest = max(newest, os.lstat(os.path.join(root, name)).st_mtime)
            except FileNotFoundError:  # removed meanwhile
                continue
    return newest


def prune_dbt_target_folders(
    target_dir: Path, now: dt.datetime, keep_days: int, dry_run: bool, runs_in_flight: Collection[str] = ()
) -> Cleanup:
    """Delete the per-invocation folders dagster-dbt made in dbt's target directory, last written before `keep_days`
    ago: a successful build removes its own (pipeline/lib/dbt/build.py), so these are what failed or killed runs
    left.

    Only subfolders named like an invocation folder (`<op>-<run id[:7]>-<hash>`) are looked at, never the
    project's own files beside them (manifest.json, partial_parse.msgpack, ...). The folders of runs in flight are
    kept, however old, matched by the run id's first 7 characters that the folder's name carries.
    """
    cutoff = _cutoff(now, keep_days, "keep_dbt_target_days").timestamp()
    in_flight = {run_id[:7] for run_id in runs_in_flight}
    try:
        folders = sorted(p for p in target_dir.iterdir() if is_invocation_folder(p))
    except FileNotFoundError:  # no dbt run has written here yet
        return Cleanup(dry_run)
    deleted, kept, failed = [], [], []
    for folder in folders:
        try:
            if _last_written(folder) >= cutoff:
                continue
        except FileNotFoundError:  # removed meanwhile
            continue
        if INVOCATION_FOLDER.fullmatch(folder.name)["run"] in in_flight:
            kept.append(folder.name)
            continue
        if not dry_run:
            try:
                remove_invocation_folder(folder)
            except OSError as exc:
                failed.append(f"{folder.name}: {exc}")
                continue
        deleted.append(folder.name)
    note = "kept folders belong to runs in flight" if kept else ""
    return Cleanup(dry_run, tuple(deleted), tuple(kept), tuple(failed), note)


# Leftover tables in the warehouse


@dataclass(frozen=True)
class Relation:
    schema: str
    name: str
    type: str  # information_schema's table_type: BASE TABLE or VIEW

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def plain(self) -> bool:
        """Both names are plain identifiers, so SQL may be built from them."""
        try:
            checked_identifier(self.schema)
            checked_identifier(self.name)
        except ValueError:
            return False
        return True

    def drop_sql(self) -> str:
        kind = "view" if self.type == "VIEW" else "table"
        return f"drop {kind} if exists {quote(self.schema)}.{quote(self.name)}"


def leftover_relations(relations: Iterable[Relation], load_schemas: Collection[str]) -> list[Relation]:
    """dbt's intermediate and backup relations in any schema, and in the schemas the pipelines load into
    regular tables `<table>_load` beside a table `<table>`, the loaders' scratch tables."""
    relations = list(relations)
    present = {(r.schema, r.name) for r in relations}
    return [
        r
        for r in relations
        if r.name.endswith(DBT_LEFTOVER_SUFFIXES)
        or (
            r.schema in load_schemas
            and r.type == "BASE TABLE"
            and r.name.endswith(SCRATCH_SUFFIX)
            and (r.schema, r.name.removesuffix(SCRATCH_SUFFIX)) in present
        )
    ]


def drop_leftover_tables(
    warehouse: Warehouse, load_schemas: Collection[str], dry_run: bool, runs_in_flight: Collection[str] = ()
) -> Cleanup:
    """Drop the warehouse's leftover relations (see `leftover_relations`).

    While other runs are in flight nothing is touched: a relation that looks left over may be one a running
    dbt build or load is using. A leftover whose name is not a plain identifier is reported and kept: no SQL
    is built from it.
    """
    if runs_in_flight:
        shown = ", ".join(sorted(runs_in_flight)[:10])
        return Cleanup(
            dry_run,
            note=f"not looked at: {len(runs_in_flight)} other run(s) in flight may be using "
            f"their temporary tables ({shown}); next time",
        )
    leftovers = sorted(
        leftover_relations((Relation(*row) for row in warehouse.query(RELATIONS_SQL)), set(load_schemas)),
        key=lambda r: r.qualified,
    )
    deleted, failed = [], []
    for relation in (r for r in leftovers if r.plain):
        if not dry_run:
            try:
                warehouse.execute(relation.drop_sql())
            except Exception as exc:  # each driver has its own error type; one failure must not stop the rest
                failed.append(f"{relation.qualified}: {' '.join(str(exc).split())}")
                continue
        deleted.append(relation.qualified)
    unsafe = tuple(r.qualified for r in leftovers if not r.plain)
    note = "kept relations are not plain identifiers: drop them by hand" if unsafe else ""
    return Cleanup(dry_run, tuple(deleted), unsafe, tuple(failed), note)
