"""The weather pipeline's dbt models (dbt_project/models/weather/) as hourly assets: `weather` and `cocktails`,
typed from the staged answers, each run replacing exactly its hours, in one dbt invocation per run."""

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from pipeline.defs.weather.partitions import hourly_backfill_policy, hourly_partitions, hours_of
from pipeline.lib.dbt.build import DBT_BUILD, build, hourly_window_env
from pipeline.lib.dbt.project import dbt_project
from pipeline.lib.dbt.translator import PipelineDbtTranslator
from pipeline.lib.retries import retried_on_fault


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    select="path:models/weather",
    partitions_def=hourly_partitions,
    backfill_policy=hourly_backfill_policy,
    dagster_dbt_translator=PipelineDbtTranslator(),
)
@retried_on_fault
def weather_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    yield from build(dbt, context, DBT_BUILD, hourly_window_env(hours_of(context)))
