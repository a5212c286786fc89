"""Materializing pipelines from the command line into the local Dagster instance, and the summary it prints.

A pipeline is an asset group (its folder under pipeline/defs/). Materializing one runs its unpartitioned
assets in one run, then, if that succeeded, its partitioned assets over a range of partitions in one run
(every partitioned asset has BackfillPolicy.single_run()). A job of the code location that selects exactly
those assets runs them under its name; otherwise an asset job is made for the command. Runs go through the
instance in the settings' DAGSTER_HOME, so `make ui` shows them afterwards with their logs. The definitions
and the pipelines' data ranges are given: this module builds nothing itself.
"""

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from pipeline.lib.environment import warehouse_resource
from pipeline.lib.instance import local_instance
from pipeline.lib.metadata import TABLE_NAME
from pipeline.lib.pipelines import NoData
from pipeline.lib.settings import Settings

QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
# Dagster's tags for a run over a range of partitions (what `dagster asset materialize --partition-range` sets).
PARTITION_RANGE_START_TAG = "dagster/asset_partition_range_start"
PARTITION_RANGE_END_TAG = "dagster/asset_partition_range_end"

# Each group's first and last partition with data: the range `materialize` runs when no --start/--end is given.
DataRanges = Mapping[str, Callable[[], tuple[str, str]]]


class UsageError(Exception):
    """The command was asked something the definitions cannot do (an unknown group, a key that is no partition)."""


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


def pipeline_groups(defs: dg.Definitions) -> list[str]:
    """Every asset group of the code location, in name order: one per pipeline."""
    graph = defs.resolve_asset_graph()
    return sorted({graph.get(key).group_name for key in graph.get_all_asset_keys() if graph.get(key).is_materializable})


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


def run_job(
    job_name: str,
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    partition_range: tuple[str, str] | None = None,
    tags: Mapping[str, str] | None = None,
) -> Outcome:
    """One run of the job in this process, through the instance, over the range if given."""
    job = defs.resolve_job_def(job_name)
    tags = dict(tags or {})
    if partition_range is not None:
        tags |= {PARTITION_RANGE_START_TAG: partition_range[0], PARTITION_RANGE_END_TAG: partition_range[1]}
    # dbt echoes its own log to stdout; the run's logs are in the instance (the UI shows them), so the
    # terminal keeps only this command's summary and the console's warnings.
    log_path = log_file(instance, job_name)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log, contextlib.redirect_stdout(log):
        result = job.execute_in_process(instance=instance, tags=tags, run_config=QUIET_LOGS, raise_on_error=False)
    asset_graph = defs.resolve_asset_graph()
    # A check over a range of partitions may report each partition as well as the range: one outcome per check.
    evaluations: dict[dg.AssetCheckKey, list[dg.AssetCheckEvaluation]] = {}
    for evaluation in result.get_asset_check_evaluations():
        evaluations.setdefault(evaluation.asset_check_key, []).append(evaluation)
    checks = tuple(
        CheckOutcome(
            name=key.to_user_string(),
            passed=all(e.passed for e in found),
            blocking=asset_graph.get_check_spec(key).blocking,
        )
        for key, found in evaluations.items()
    )
    return Outcome(run_id=result.run_id, success=result.success, checks=checks, errors=_step_errors(result))


@dataclass(frozen=True)
class GroupPlan:
    """The runs that materialize one group: its unpartitioned assets, then its partitioned ones."""

    group: str
    unpartitioned: str | None  # job names
    partitioned: str | None
    partitions_def: dg.PartitionsDefinition | None


def _job_selecting(defs: dg.Definitions, keys: set[dg.AssetKey], partitioned: bool) -> str | None:
    graph = defs.resolve_asset_graph()
    for job in defs.jobs or []:
        selection = getattr(job, "selection", None)  # an asset job's (define_asset_job) AssetSelection
        if (
            isinstance(selection, dg.AssetSelection)
            and (job.partitions_def is not None) == partitioned
            and selection.resolve(graph) == keys
        ):
            return job.name
    return None


def plan_group(defs: dg.Definitions, group: str) -> tuple[GroupPlan, dg.Definitions]:
    """The group's two runs, and the definitions holding the asset jobs made for them where no job existed."""
    graph = defs.resolve_asset_graph()
    keys = {
        key
        for key in graph.get_all_asset_keys()
        if graph.get(key).group_name == group and graph.get(key).is_materializable
    }
    if not keys:
        raise UsageError(f"no asset group {group!r}; the groups are: {', '.join(pipeline_groups(defs))}")
    by_partitions = {key: graph.get(key).partitions_def for key in keys}
    partitions_defs = {p for p in by_partitions.values() if p is not None}
    if len(partitions_defs) > 1:
        raise UsageError(
            f"group {group!r} has assets of {len(partitions_defs)} partitions definitions: materialize them by job"
        )
    partitions_def = next(iter(partitions_defs), None)
    new_jobs, names = [], {}
    for partitioned, name in ((False, f"{group}_unpartitioned"), (True, f"{group}_partitioned")):
        subset = {key for key, p in by_partitions.items() if (p is not None) == partitioned}
        if not subset:
            names[partitioned] = None
            continue
        names[partitioned] = _job_selecting(defs, subset, partitioned)
        if names[partitioned] is None:
            new_jobs.append(
                dg.define_asset_job(
                    name,
                    selection=dg.AssetSelection.assets(*subset),
                    partitions_def=partitions_def if partitioned else None,
                )
            )
            names[partitioned] = name
    if new_jobs:
        defs = dg.Definitions.merge(defs, dg.Definitions(jobs=new_jobs))
    return GroupPlan(group, names[False], names[True], partitions_def), defs


def _checked_key(partitions_def: dg.PartitionsDefinition, key: str, group: str) -> str:
    if not partitions_def.has_partition_key(key):
        if isinstance(partitions_def, dg.TimeWindowPartitionsDefinition):
            raise UsageError(
                f"{key!r} is not one of {group}'s partitions ({partitions_def.fmt}, "
                f"from {partitions_def.start:{partitions_def.fmt}} to the last complete one)"
            )
        raise UsageError(f"{key!r} is not a partition of {group}")
    return key


def partition_range(
    plan: GroupPlan, start: str | None, end: str | None, data_ranges: DataRanges | None = None
) -> tuple[str, str]:
    """[start, end] of the partitioned run: as asked, else the pipeline's data range, else every partition."""
    if start is None or end is None:
        if plan.group in (data_ranges or {}):
            try:
                first, last = data_ranges[plan.group]()
            except NoData as error:
                raise UsageError(str(error)) from None
        else:
            all_keys = plan.partitions_def.get_partition_keys()
            first, last = all_keys[0], all_keys[-1]
        start, end = start or first, end or last
    start, end = (_checked_key(plan.partitions_def, key, plan.group) for key in (start, end))
    keys = plan.partitions_def.get_partition_keys()
    if keys.index(end) < keys.index(start):
        raise UsageError(f"--end {end} is before --start {start}")
    return start, end


def materialize_group(
    group: str,
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    start: str | None = None,
    end: str | None = None,
    data_ranges: DataRanges | None = None,
) -> list[tuple[str, Outcome]]:
    """The group's unpartitioned assets, then (if they succeeded) its partitions from start to end in one run."""
    plan, defs = plan_group(defs, group)
    runs: list[tuple[str, Outcome]] = []
    if plan.unpartitioned is not None:
        print(f"Materializing {plan.unpartitioned}; step output in {log_file(instance, plan.unpartitioned)}")
        runs.append((plan.unpartitioned, run_job(plan.unpartitioned, defs, instance)))
        if not runs[-1][1].ok:  # the partitioned assets read what these load
            return runs
    if plan.partitioned is not None:
        first, last = partition_range(plan, start, end, data_ranges)
        count = len(plan.partitions_def.get_partition_keys_in_range(dg.PartitionKeyRange(first, last)))
        label = f"{plan.partitioned} over {first} .. {last}, {_count(plan, count)}"
        print(
            f"Materializing {plan.partitioned} for {first} .. {last} ({_count(plan, count)}); "
            f"step output in {log_file(instance, plan.partitioned)}"
        )
        runs.append((label, run_job(plan.partitioned, defs, instance, (first, last))))
    return runs


def _count(plan: GroupPlan, count: int) -> str:
    """ "7 days", "1 hour", "3 partitions": what a range of the plan's partitions is."""
    unit = {
        dg.DailyPartitionsDefinition: "day",
        dg.HourlyPartitionsDefinition: "hour",
        dg.MonthlyPartitionsDefinition: "month",
    }.get(type(plan.partitions_def), "partition")
    return f"{count} {unit}{'' if count == 1 else 's'}"


def log_file(instance: dg.DagsterInstance, job_name: str) -> Path:
    return Path(instance.root_directory) / "logs" / f"materialize_{job_name}.log"


def summary_tables(defs: dg.Definitions, groups: list[str]) -> list[str]:
    """schema.table of every asset of the groups that names its table: the loaded tables first, then dbt's."""
    graph = defs.resolve_asset_graph()
    tables = []
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        name = getattr(node.metadata.get(TABLE_NAME), "value", node.metadata.get(TABLE_NAME))
        if node.group_name in groups and name:
            tables.append(("dbt" in node.kinds, ".".join(name.split(".")[-2:])))
    return [name for _, name in sorted(tables)]


def print_summary(runs: list[tuple[str, Outcome]], groups: list[str], defs: dg.Definitions, settings: Settings) -> None:
    """Each run (described by its label) with its failures, then the rows of every table and the checks."""
    warehouse = warehouse_resource(settings).process_config_and_initialize()

    print()
    for label, outcome in runs:
        print(f"Run {outcome.run_id} ({label}): {'succeeded' if outcome.success else 'FAILED'}")
        for error in outcome.errors:
            print(f"  failed step {error}")
    print("\nRows per table:")
    for table in summary_tables(defs, groups):
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


def materialize_groups(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    group: str | None,
    start: str | None = None,
    end: str | None = None,
    data_ranges: DataRanges | None = None,
) -> tuple[list[str], list[tuple[str, Outcome]]]:
    """One group, or every group in turn: (the groups, their runs)."""
    groups = [group] if group else pipeline_groups(defs)
    if not group and (start or end) and len(groups) > 1:
        raise UsageError("--start/--end name partitions of one pipeline: give its --group")
    return groups, [run for name in groups for run in materialize_group(name, defs, instance, start, end, data_ranges)]


def all_ok(runs: list[tuple[str, Outcome]]) -> bool:
    return all(outcome.ok for _, outcome in runs)


def materialize_command(
    settings: Settings,
    defs: dg.Definitions,
    data_ranges: DataRanges,
    group: str | None,
    start: str | None,
    end: str | None,
) -> int:
    """`python -m pipeline materialize`: one group, or every group in turn; exit 0 only if every run is ok."""
    with local_instance(settings) as instance:
        groups, runs = materialize_groups(defs, instance, group, start, end, data_ranges)
    print_summary(runs, groups, defs, settings)
    return 0 if all_ok(runs) else 1
