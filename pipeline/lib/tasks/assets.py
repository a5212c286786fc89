"""A task's definitions: its asset (or assets), its job, and its schedule when it has one. The assets' code
reference is the task's defs.yaml, which declares them."""

from pathlib import Path

import dagster as dg

from pipeline.lib.code_references import code_reference
from pipeline.lib.tasks.runs import run_task
from pipeline.lib.tasks.settings import TasksSettings
from pipeline.lib.tasks.spec import GROUP, TaskSpec


def task_definitions(task: TaskSpec, folder: Path, settings: TasksSettings) -> dg.Definitions:
    """The task's assets, job and schedule; `folder` holds its YAML and files."""
    partitions_def = (
        dg.DailyPartitionsDefinition(start_date=task.partitions_start) if task.partitions == "daily" else None
    )
    specs = [
        dg.AssetSpec(
            key=key,
            description=task.description,
            owners=[task.owner],
            group_name=GROUP,
            kinds={"docker"},
            deps=[dg.AssetKey.from_user_string(dep) for dep in task.deps],
            partitions_def=partitions_def,
            metadata={
                "task": task.name,
                "image": task.image or f"built from {task.build}/Dockerfile",
                **code_reference(folder.resolve() / "defs.yaml"),
            },
        )
        for key in task.keys
    ]

    @dg.multi_asset(name=f"run_task_{task.name}", specs=specs)
    def task_asset(context: dg.AssetExecutionContext):
        yield from run_task(task, folder, context, settings)

    job = dg.define_asset_job(f"task_{task.name}", selection=task.keys, partitions_def=partitions_def)
    schedules = []
    if task.schedule and partitions_def is not None:
        # A daily task runs the day that just ended, at the schedule's minute and hour.
        minute, hour = (int(part) for part in task.schedule.split()[:2])
        schedules.append(
            dg.build_schedule_from_partitioned_job(
                job, minute_of_hour=minute, hour_of_day=hour, default_status=dg.DefaultScheduleStatus.STOPPED
            )
        )
    elif task.schedule:
        # Stopped until turned on in the UI, as every schedule of the platform.
        schedules.append(
            dg.ScheduleDefinition(
                job=job,
                cron_schedule=task.schedule,
                execution_timezone="UTC",
                default_status=dg.DefaultScheduleStatus.STOPPED,
            )
        )
    return dg.Definitions(assets=[task_asset], jobs=[job], schedules=schedules)
