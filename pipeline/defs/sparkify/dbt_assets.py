"""Sparkify's dbt models (dbt_project/models/sparkify/) as assets: the incremental ones (songplays, time,
users) by daily partition, in one dbt invocation per run; songs and artists whole, in the song catalogue's job.

Each selection starts from the pipeline's folder, so another pipeline's models never join these assets.
dbt tests become asset checks (error severity blocks downstream).
"""

import dagster as dg
from dagster_dbt import DbtProject, dbt_assets

from pipeline.defs.sparkify.staging_assets import WAITING_FOR_SONGS, song_catalogue_loaded
from pipeline.lib.dbt.build import DBT_BUILD, dbt_build
from pipeline.lib.dbt.cli import LocalDbtCliResource
from pipeline.lib.dbt.translator import PipelineDbtTranslator
from pipeline.lib.retries import retried_on_fault
from pipeline.lib.warehouse import Warehouse

SPARKIFY_MODELS = "path:models/sparkify"
INCREMENTAL_MODELS = "config.materialized:incremental"


def dbt_models(project: DbtProject, partitions: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """The daily models (partitioned) and the dimensions (whole)."""

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        select=f"{SPARKIFY_MODELS},{INCREMENTAL_MODELS}",  # dbt's comma: both at once
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        dagster_dbt_translator=PipelineDbtTranslator(),
    )
    @retried_on_fault
    def sparkify_daily_models(context: dg.AssetExecutionContext, dbt: LocalDbtCliResource, warehouse: Warehouse):
        if not song_catalogue_loaded(context.instance):  # else dbt fails on the missing staging_songs
            raise dg.Failure(
                description=f"{WAITING_FOR_SONGS}: run it first (song_files_sensor does)", allow_retries=False
            )
        yield from dbt_build(dbt, warehouse, context, DBT_BUILD, partitioned=True)

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        select=SPARKIFY_MODELS,
        exclude=INCREMENTAL_MODELS,
        dagster_dbt_translator=PipelineDbtTranslator(),
    )
    @retried_on_fault
    def sparkify_dimension_models(context: dg.AssetExecutionContext, dbt: LocalDbtCliResource, warehouse: Warehouse):
        yield from dbt_build(dbt, warehouse, context, DBT_BUILD)

    return [sparkify_daily_models, sparkify_dimension_models]
