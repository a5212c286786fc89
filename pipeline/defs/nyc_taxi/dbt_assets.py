"""The NYC-taxi pipeline's dbt models (dbt_project/models/nyc_taxi/) as monthly assets: the `calendar_date`
dimension and the `nyc_taxi` analytics model, each run replacing exactly its months, in one dbt invocation."""

import datetime as dt

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from pipeline.defs.nyc_taxi.partitions import monthly_backfill_policy, monthly_partitions
from pipeline.lib.dbt.build import DBT_BUILD, build
from pipeline.lib.dbt.project import dbt_project
from pipeline.lib.dbt.translator import PipelineDbtTranslator
from pipeline.lib.retries import retried_on_fault


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    select="path:models/nyc_taxi",
    partitions_def=monthly_partitions,
    backfill_policy=monthly_backfill_policy,
    dagster_dbt_translator=PipelineDbtTranslator(),
)
@retried_on_fault
def nyc_taxi_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    window = context.partition_time_window  # [first month's first day, the day after the last month)
    env = {
        "DBT_WINDOW_START": window.start.astimezone(dt.UTC).date().isoformat(),
        "DBT_WINDOW_END": window.end.astimezone(dt.UTC).date().isoformat(),
    }
    yield from build(dbt, context, DBT_BUILD, env)
