"""Housekeeping against a real Dagster instance (runs executed in process, so their event logs exist) and a real
DuckDB file. Ages come from choosing `now`, never from sleeping: a `now` placed between two runs' finish times
plus the retention makes exactly the earlier runs expired."""

import datetime as dt
import os
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._core.remote_origin import RegisteredCodeLocationOrigin, RemoteRepositoryOrigin

from pipeline.defs.platform.maintenance.jobs import maintenance_job
from pipeline.defs.platform.maintenance.schedules import maintenance_schedule
from pipeline.lib.housekeeping import (
    REPORTED_NAMES,
    Cleanup,
    drop_leftover_tables,
    local_compute_log_dir,
    prune_compute_logs,
    prune_dbt_target_folders,
    purge_runs,
)
from pipeline.lib.instance import INSTANCE_RETENTION_FILE
from pipeline.lib.warehouse import DuckDBWarehouse

UTC = dt.UTC
NOOP_COMPUTE_LOGS = {
    "compute_logs": {"module": "dagster._core.storage.noop_compute_log_manager", "class": "NoOpComputeLogManager"}
}


@dg.op
def say_hello():
    print("hello")  # something for the compute log


@dg.op
def fail():
    raise dg.Failure("on purpose")


@dg.job(executor_def=dg.in_process_executor)
def hello_job():
    say_hello()


@dg.job(executor_def=dg.in_process_executor)
def failing_job():
    fail()


@dg.asset
def catalog() -> dg.MaterializeResult:
    return dg.MaterializeResult()


@dg.asset(partitions_def=dg.StaticPartitionsDefinition(["d1", "d2"]))
def plays() -> dg.MaterializeResult:
    return dg.MaterializeResult()


@pytest.fixture
def instance(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        yield instance


@pytest.fixture
def warehouse(tmp_path):
    return DuckDBWarehouse(path=str(tmp_path / "warehouse.duckdb"), extension_dir=str(tmp_path / "duckdb_extensions"))


@pytest.fixture
def defs(warehouse):
    """Maintenance's definitions with the warehouse the root definitions would give them, cleaning Sparkify's load
    schema, as the code location builds them."""
    job = maintenance_job(["staging"])
    return dg.Definitions(jobs=[job], schedules=[maintenance_schedule(job)], resources={"warehouse": warehouse})


def run(instance, job=hello_job) -> str:
    return job.execute_in_process(instance=instance, raise_on_error=False).run_id


def materialize(instance, asset, partition=None) -> str:
    return dg.materialize([asset], instance=instance, partition_key=partition).run_id


def canceled_run(instance) -> str:
    dagster_run = instance.create_run_for_job(hello_job)
    instance.report_run_canceled(dagster_run)
    return dagster_run.run_id


def now_expiring_up_to(instance, last_expired: str, first_kept: str, days: int) -> dt.datetime:
    """A `now` at which runs finished up to `last_expired` are older than `days`, and from `first_kept` on younger."""
    older = instance.get_run_record_by_id(last_expired).update_timestamp
    newer = instance.get_run_record_by_id(first_kept).update_timestamp
    assert older < newer
    return older + (newer - older) / 2 + dt.timedelta(days=days)


def far_future() -> dt.datetime:
    return dt.datetime.now(UTC) + dt.timedelta(days=3650)


def gone(instance, run_id) -> bool:
    return instance.get_run_by_id(run_id) is None and not instance.all_logs(run_id)


def present(instance, run_id) -> bool:
    return instance.get_run_by_id(run_id) is not None and bool(instance.all_logs(run_id))


# Runs


def test_expired_successful_runs_go_with_their_event_logs_and_recent_ones_stay(instance):
    old = [run(instance), run(instance)]
    recent = run(instance)
    now = now_expiring_up_to(instance, old[-1], recent, days=30)

    cleanup = purge_runs(instance, now, keep_days=30, keep_failed_days=90, dry_run=False)

    assert cleanup.deleted == tuple(old)
    assert all(gone(instance, run_id) for run_id in old)
    assert present(instance, recent)


def test_failed_and_canceled_runs_are_kept_for_keep_failed_days(instance):
    failed_old, canceled_old = run(instance, failing_job), canceled_run(instance)
    failed_young = run(instance, failing_job)
    now = now_expiring_up_to(instance, canceled_old, failed_young, days=90)
    assert now - instance.get_run_record_by_id(failed_young).update_timestamp > dt.timedelta(days=30)

    cleanup = purge_runs(instance, now, keep_days=30, keep_failed_days=90, dry_run=False)

    assert cleanup.deleted == (failed_old, canceled_old)
    assert gone(instance, failed_old) and gone(instance, canceled_old)
    assert instance.get_run_by_id(failed_young).status == dg.DagsterRunStatus.FAILURE


def test_unfinished_runs_and_the_current_run_are_never_deleted(instance):
    # A queued run must say where to launch it from; any code location will do here.
    repository = RemoteRepositoryOrigin(RegisteredCodeLocationOrigin("tests"), "__repository__")
    origin = repository.get_job_origin(hello_job.name)
    unfinished = [
        instance.add_run(dg.DagsterRun(job_name=hello_job.name, status=status, remote_job_origin=origin)).run_id
        for status in (
            dg.DagsterRunStatus.NOT_STARTED,
            dg.DagsterRunStatus.QUEUED,
            dg.DagsterRunStatus.STARTING,
            dg.DagsterRunStatus.STARTED,
            dg.DagsterRunStatus.CANCELING,
        )
    ]
    current = run(instance)

    cleanup = purge_runs(instance, far_future(), keep_days=0, keep_failed_days=0, dry_run=False, current_run_id=current)

    assert cleanup.deleted == ()
    assert all(instance.get_run_by_id(run_id) is not None for run_id in [*unfinished, current])


def test_a_dry_run_deletes_nothing_and_lists_exactly_what_a_real_run_deletes(instance):
    old = [run(instance), run(instance, failing_job), canceled_run(instance)]
    recent = run(instance)
    now = now_expiring_up_to(instance, old[-1], recent, days=30)

    dry = purge_runs(instance, now, keep_days=30, keep_failed_days=30, dry_run=True)
    assert dry.deleted == tuple(old)
    assert all(instance.get_run_by_id(run_id) is not None for run_id in old)

    real = purge_runs(instance, now, keep_days=30, keep_failed_days=30, dry_run=False)
    assert real.deleted == dry.deleted
    assert all(gone(instance, run_id) for run_id in old) and present(instance, recent)
    assert dry.metadata()["would_delete"].data == real.metadata()["deleted"].data == old


def test_runs_holding_the_latest_materialization_of_an_asset_or_partition_are_kept(instance):
    superseded = materialize(instance, catalog)
    latest = materialize(instance, catalog)
    d1_superseded = materialize(instance, plays, "d1")
    d2 = materialize(instance, plays, "d2")
    d1_latest = materialize(instance, plays, "d1")

    everything = purge_runs(instance, far_future(), 0, 0, dry_run=True, keep_latest_materializations=False)
    assert set(everything.deleted) == {superseded, latest, d1_superseded, d2, d1_latest}

    cleanup = purge_runs(instance, far_future(), 0, 0, dry_run=False)

    assert set(cleanup.deleted) == {superseded, d1_superseded}
    assert set(cleanup.kept) == {latest, d2, d1_latest}
    assert instance.get_latest_materialization_event(catalog.key).run_id == latest
    assert instance.get_materialized_partitions(plays.key) == {"d1", "d2"}


# Compute logs


def age(path: Path, days: int) -> None:
    then = (dt.datetime.now(UTC) - dt.timedelta(days=days)).timestamp()
    for item in [path, *path.rglob("*")] if path.is_dir() else [path]:
        os.utime(item, (then, then))


def test_compute_logs_older_than_the_cutoff_are_removed_and_nothing_else(instance):
    base = local_compute_log_dir(instance)
    assert base == Path(instance.root_directory) / "storage"
    old_run, new_run = run(instance), run(instance)
    old_logs = sorted(p.relative_to(base).as_posix() for p in (base / old_run / "compute_logs").iterdir())
    assert {Path(name).suffix for name in old_logs} == {".out", ".err", ".complete"}
    age(base / old_run, days=20)
    io_output = base / old_run / "say_hello" / "result"  # where the filesystem IO manager would put an output
    io_output.parent.mkdir()
    io_output.write_bytes(b"pickled")
    age(io_output, days=20)
    in_flight = base / "run-in-flight" / "compute_logs" / "step.out"
    in_flight.parent.mkdir(parents=True)
    in_flight.write_text("still running")
    age(in_flight, days=20)
    now = dt.datetime.now(UTC)

    dry = prune_compute_logs(base, now, keep_days=14, dry_run=True, runs_in_flight={"run-in-flight"})
    assert dry.deleted == tuple(old_logs)
    assert all((base / name).exists() for name in old_logs)

    real = prune_compute_logs(base, now, keep_days=14, dry_run=False, runs_in_flight={"run-in-flight"})

    assert real.deleted == dry.deleted
    assert real.kept == ("run-in-flight/compute_logs/step.out",)
    assert not (base / old_run / "compute_logs").exists()
    assert io_output.exists() and in_flight.exists()
    assert any((base / new_run / "compute_logs").iterdir())


def test_compute_logs_kept_elsewhere_are_not_pruned_here(tmp_path):
    with dg.instance_for_test(overrides=NOOP_COMPUTE_LOGS, temp_dir=str(tmp_path)) as instance:
        assert local_compute_log_dir(instance) is None


# dbt's invocation folders


def invocation_folder(target: Path, name: str, days_old: int) -> Path:
    """A folder as dagster-dbt leaves one, last written `days_old` days ago."""
    folder = target / name
    (folder / "compiled" / "data_platform").mkdir(parents=True)
    (folder / "compiled" / "data_platform" / "songplays.sql").write_text("select 1")
    (folder / "partial_parse.msgpack").write_bytes(b"state")
    age(folder, days=days_old)
    return folder


def test_dbt_invocation_folders_of_finished_runs_are_pruned_and_nothing_else(tmp_path):
    target = tmp_path / "target"
    target.mkdir()
    old_failed = invocation_folder(target, "sparkify_daily_models-402981a-1cdbf0d", days_old=10)
    old_killed = invocation_folder(target, "sparkify_song_models-9c0ffee-0a1b2c3", days_old=30)
    recent = invocation_folder(target, "sparkify_daily_models-1234567-89abcde", days_old=2)
    in_flight = invocation_folder(target, "sparkify_daily_models-abcdef0-7654321", days_old=10)
    # Written to a moment ago, though the folder itself is old: dbt is still at work in it.
    still_written = invocation_folder(target, "sparkify_daily_models-5555555-6666666", days_old=10)
    (still_written / "run").mkdir()
    (still_written / "run" / "users.sql").write_text("select 2")
    # The project's own files and anything not named like an invocation folder stay, however old.
    own = [target / "manifest.json", target / "partial_parse.msgpack", target / "graph.gpickle"]
    for path in own:
        path.write_text("{}")
    others = [target / "compiled", target / "run", target / "sparkify_daily_models-402981a", target / "notes-abc-def"]
    for path in others:
        path.mkdir()
    for path in [*own, *others]:
        age(path, days=30)
    before = sorted(p.name for p in target.iterdir())
    now = dt.datetime.now(UTC)
    flight = ["abcdef0-1111-2222-3333-444455556666"]

    dry = prune_dbt_target_folders(target, now, keep_days=7, dry_run=True, runs_in_flight=flight)
    assert dry.deleted == (old_failed.name, old_killed.name)
    assert sorted(p.name for p in target.iterdir()) == before

    real = prune_dbt_target_folders(target, now, keep_days=7, dry_run=False, runs_in_flight=flight)

    assert real.deleted == dry.deleted
    assert real.kept == (in_flight.name,) and "in flight" in real.note
    assert sorted(p.name for p in target.iterdir()) == sorted(set(before) - {old_failed.name, old_killed.name})
    assert recent.exists() and still_written.exists()


def test_a_missing_dbt_target_directory_is_nothing_to_prune(tmp_path):
    cleanup = prune_dbt_target_folders(tmp_path / "never-made", dt.datetime.now(UTC), keep_days=0, dry_run=False)
    assert cleanup == Cleanup(dry_run=False)


# Leftover tables


def create_relations(warehouse, statements) -> None:
    for statement in ["create schema if not exists analytics", "create schema if not exists staging", *statements]:
        warehouse.execute(statement)


def relations(warehouse) -> set[str]:
    rows = warehouse.query(
        "select table_schema, table_name from information_schema.tables where table_schema in ('analytics', 'staging')"
    )
    return {f"{schema}.{name}" for schema, name in rows}


def test_leftover_tables_are_dropped_and_everything_else_stays(warehouse):
    create_relations(
        warehouse,
        [
            "create table analytics.songplays (id integer)",
            "create table analytics.songplays__dbt_tmp (id integer)",
            "create view analytics.users__dbt_backup as select 1 as id",
            'create table analytics."weird name__dbt_tmp" (id integer)',
            "create table analytics.daily_load (id integer)",  # not the staging schema
            "create table staging.staging_events (id integer)",
            "create table staging.staging_events_load (id integer)",
            "create table staging.orphan_load (id integer)",  # no table `orphan` beside it
        ],
    )
    before = relations(warehouse)

    dry = drop_leftover_tables(warehouse, ["staging"], dry_run=True)
    assert relations(warehouse) == before
    real = drop_leftover_tables(warehouse, ["staging"], dry_run=False)

    expected = ("analytics.songplays__dbt_tmp", "analytics.users__dbt_backup", "staging.staging_events_load")
    assert dry.deleted == real.deleted == expected
    assert real.kept == ("analytics.weird name__dbt_tmp",) and "plain identifiers" in real.note
    assert relations(warehouse) == before - set(expected)


def test_leftover_tables_are_left_alone_while_other_runs_are_in_flight(warehouse):
    create_relations(warehouse, ["create table analytics.songplays__dbt_tmp (id integer)"])

    cleanup = drop_leftover_tables(warehouse, ["staging"], dry_run=False, runs_in_flight=["some-run"])

    assert cleanup.deleted == () and "some-run" in cleanup.note
    assert relations(warehouse) == {"analytics.songplays__dbt_tmp"}


# The job, its schedule and the instance's retention block


def step_metadata(result) -> dict[str, dict]:
    return {e.step_key: e.step_output_data.metadata for e in result.all_events if e.is_successful_output}


def test_maintenance_job_cleans_every_part_and_reports_counts(instance, warehouse, defs, monkeypatch, tmp_path):
    monkeypatch.delenv("SPARKIFY_STAGING_SCHEMA", raising=False)
    dbt_target = tmp_path / "dbt_target"  # never the repository's dbt_project/target
    monkeypatch.setenv("DBT_TARGET_PATH", str(dbt_target))
    dbt_target.mkdir()
    left = invocation_folder(dbt_target, "sparkify_daily_models-402981a-1cdbf0d", days_old=8)
    finished = run(instance)
    base = local_compute_log_dir(instance)
    create_relations(
        warehouse,
        [
            "create table analytics.songplays (id integer)",
            "create table analytics.songplays__dbt_tmp (id integer)",
            "create table staging.staging_events (id integer)",
            "create table staging.staging_events_load (id integer)",
        ],
    )
    job = defs.resolve_job_def("maintenance")
    expire_everything = {"keep_days": 0, "keep_failed_days": 0, "keep_compute_log_days": 0}

    dry = job.execute_in_process(instance=instance, run_config={**expire_everything, "dry_run": True})

    assert dry.success
    metadata = step_metadata(dry)
    assert metadata["purge_runs"]["would_delete"].data == [finished]
    assert metadata["prune_compute_logs"]["would_delete_count"].value == 3  # .out, .err, .complete of `finished`
    assert metadata["drop_leftover_tables"]["would_delete"].data == [
        "analytics.songplays__dbt_tmp",
        "staging.staging_events_load",
    ]
    assert metadata["prune_dbt_target_folders"]["would_delete"].data == [left.name]
    assert present(instance, finished) and left.exists()
    assert len(relations(warehouse)) == 4

    real = job.execute_in_process(instance=instance, run_config=expire_everything)

    assert real.success
    metadata = step_metadata(real)
    assert metadata["purge_runs"]["deleted"].data == [finished, dry.run_id]
    assert metadata["purge_runs"]["deleted_count"].value == 2
    assert metadata["prune_compute_logs"]["deleted_count"].value == 6
    assert metadata["drop_leftover_tables"]["deleted_count"].value == 2
    assert metadata["prune_dbt_target_folders"]["deleted"].data == [left.name]  # default keep_dbt_target_days: 7
    assert not left.exists()
    assert gone(instance, finished) and gone(instance, dry.run_id)
    assert instance.get_run_by_id(real.run_id).status == dg.DagsterRunStatus.SUCCESS
    assert not (base / finished).exists() and (base / real.run_id / "compute_logs").exists()
    assert relations(warehouse) == {"analytics.songplays", "staging.staging_events"}


def test_maintenance_job_notes_compute_logs_it_cannot_prune(tmp_path, defs):
    with dg.instance_for_test(overrides=NOOP_COMPUTE_LOGS, temp_dir=str(tmp_path)) as instance:
        result = defs.resolve_job_def("maintenance").execute_in_process(instance=instance, run_config={"dry_run": True})
    assert result.success
    assert "NoOpComputeLogManager" in step_metadata(result)["prune_compute_logs"]["note"].value


def test_the_schedule_runs_the_job_weekly_and_starts_stopped(defs):
    schedule = defs.resolve_schedule_def("maintenance_weekly")
    assert schedule.job_name == "maintenance"
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 3 * * 0", "UTC")
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED


def test_instance_retention_block_is_accepted_by_dagster():
    from dagster._core.definitions.run_request import InstigatorType
    from dagster._core.scheduler.instigation import TickStatus

    overrides = yaml.safe_load(INSTANCE_RETENTION_FILE.read_text())
    with dg.instance_for_test(overrides=overrides) as instance:
        schedule = instance.get_tick_retention_settings(InstigatorType.SCHEDULE)
        sensor = instance.get_tick_retention_settings(InstigatorType.SENSOR)
    assert set(schedule.values()) == {90}
    assert (sensor[TickStatus.SKIPPED], sensor[TickStatus.FAILURE], sensor[TickStatus.SUCCESS]) == (7, 30, 30)
    assert sensor[TickStatus.STARTED] == -1


def test_metadata_lists_at_most_a_hundred_names_but_counts_all():
    cleanup = Cleanup(dry_run=False, deleted=tuple(f"run-{n}" for n in range(150)))
    metadata = cleanup.metadata()
    assert metadata["deleted_count"].value == 150
    assert len(metadata["deleted"].data) == REPORTED_NAMES
    assert cleanup.summary("runs") == "runs: 150 deleted"
