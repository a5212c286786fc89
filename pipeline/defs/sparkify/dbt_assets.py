"""Sparkify's dbt models (dbt_project/models/sparkify/) as assets: the incremental ones (songplays, time,
users) by daily partition, in one dbt invocation per run; songs and artists whole, in the song catalogue's job.

Each selection starts from the pipeline's folder, so another pipeline's models never join these assets.
dbt tests become asset checks (error severity blocks downstream).
"""

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from pipeline.defs.sparkify.partitions import daily_backfill_policy, daily_partitions, days_of
from pipeline.defs.sparkify.staging_assets import WAITING_FOR_SONGS, song_catalogue_loaded
from pipeline.lib.dbt.build import DBT_BUILD, build, partition_window_env
from pipeline.lib.dbt.project import dbt_project
from pipeline.lib.dbt.translator import PipelineDbtTranslator
from pipeline.lib.retries import retried_on_fault

SPARKIFY_MODELS = "path:models/sparkify"
INCREMENTAL_MODELS = "config.materialized:incremental"


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    select=f"{SPARKIFY_MODELS},{INCREMENTAL_MODELS}",  # dbt's comma: both at once
    partitions_def=daily_partitions,
    backfill_policy=daily_backfill_policy,
    dagster_dbt_translator=PipelineDbtTranslator(),
)
@retried_on_fault
def sparkify_daily_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    if not song_catalogue_loaded(context.instance):  # else dbt fails on the missing staging_songs
        raise dg.Failure(description=f"{WAITING_FOR_SONGS}: run it first (song_files_sensor does)", allow_retries=False)
    yield from build(dbt, context, DBT_BUILD, partition_window_env(days_of(context)))


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    select=SPARKIFY_MODELS,
    exclude=INCREMENTAL_MODELS,
    dagster_dbt_translator=PipelineDbtTranslator(),
)
@retried_on_fault
def sparkify_dimension_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    yield from build(dbt, context, DBT_BUILD)
