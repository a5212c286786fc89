"""The code location as the tests use it: built from the test's environment (its fixtures set the variables), and
a job run in process through the instance of that environment's DAGSTER_HOME."""

import functools
from collections.abc import Mapping

import dagster as dg

from pipeline.code_location import build_pipelines, complete_settings, data_ranges, definitions_of
from pipeline.lib.instance import local_instance
from pipeline.lib.materialize import Outcome, materialize_group, run_job
from pipeline.lib.settings import Settings
from pipeline.lib.tasks.settings import TasksSettings


def definitions(environ: Mapping[str, str] | None = None) -> dg.Definitions:
    """The definitions built from the environment (os.environ, the fixtures' variables) or the given one."""
    return definitions_of(*build_pipelines(Settings.from_env(environ)))


def run(
    job_name: str,
    partition_range: tuple[str, str] | None = None,
    tags: Mapping[str, str] | None = None,
    defs: dg.Definitions | None = None,
) -> Outcome:
    settings = Settings.from_env()
    with local_instance(settings) as instance:
        return run_job(job_name, defs or definitions(), instance, partition_range, tags)


def materialize(group: str, start: str | None = None, end: str | None = None) -> list[tuple[str, Outcome]]:
    """`python -m pipeline materialize --group ...` in process."""
    settings, pipelines = build_pipelines(Settings.from_env())
    with local_instance(settings) as instance:
        return materialize_group(
            group, definitions_of(settings, pipelines), instance, start, end, data_ranges(pipelines)
        )


@functools.cache
def default_definitions() -> dg.Definitions:
    """The definitions of a fresh clone's settings (none set), built once: for sensors, schedules and checks
    evaluated with the resources a test gives them."""
    return definitions({})


def task_variables() -> dict[str, str]:
    """What a task's `{{ env.NAME }}` templates read, as the code location resolves it from the environment."""
    return complete_settings(Settings.from_env()).resolved_variables()


def tasks_settings() -> TasksSettings:
    return TasksSettings.resolve(Settings.from_env())


def recorded_metadata(key: list[str], partition: str | None = None) -> list[dict]:
    """The metadata values of the asset's materializations (of one partition), newest first, as the instance of the
    environment's DAGSTER_HOME stored them."""
    with local_instance(Settings.from_env()) as instance:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(key), asset_partitions=[partition] if partition else None),
            limit=100,
        ).records
    return [{name: value.value for name, value in r.asset_materialization.metadata.items()} for r in records]
