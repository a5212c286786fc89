"""The NYC-taxi pipeline's dbt models (dbt_project/models/nyc_taxi/) as monthly assets: the `calendar_date`
dimension and the `nyc_taxi` analytics model, each run replacing exactly its months, in one dbt invocation."""

import dagster as dg
from dagster_dbt import DbtProject, dbt_assets

from pipeline.lib.dbt.build import DBT_BUILD, dbt_build
from pipeline.lib.dbt.cli import LocalDbtCliResource
from pipeline.lib.dbt.translator import PipelineDbtTranslator
from pipeline.lib.retries import retried_on_fault


def dbt_models(project: DbtProject, partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        select="path:models/nyc_taxi",
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        dagster_dbt_translator=PipelineDbtTranslator(),
    )
    @retried_on_fault
    def nyc_taxi_models(context: dg.AssetExecutionContext, dbt: LocalDbtCliResource):
        yield from dbt_build(dbt, context, DBT_BUILD, partitioned=True)

    return nyc_taxi_models
