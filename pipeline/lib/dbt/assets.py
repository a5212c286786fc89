"""A pipeline's dbt models as partitioned assets: its folder of models (dbt_project/models/<folder>/), keyed and
grouped by the translator, built by one `dbt build` per run over the run's partition window."""

import dagster as dg
from dagster_dbt import DbtProject, dbt_assets

from pipeline.lib.dbt.build import DBT_BUILD, dbt_build
from pipeline.lib.dbt.cli import LocalDbtCliResource
from pipeline.lib.dbt.translator import PipelineDbtTranslator
from pipeline.lib.retries import retried_on_fault
from pipeline.lib.warehouse import Warehouse


def partitioned_models(
    project: DbtProject, folder: str, partitions: dg.PartitionsDefinition, name: str
) -> dg.AssetsDefinition:
    """The models of models/<folder>/ by partition, a range of partitions in one run; `name` is the step's."""

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        select=f"path:models/{folder}",
        name=name,
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        dagster_dbt_translator=PipelineDbtTranslator(),
    )
    @retried_on_fault
    def models(context: dg.AssetExecutionContext, dbt: LocalDbtCliResource, warehouse: Warehouse):
        yield from dbt_build(dbt, warehouse, context, DBT_BUILD, partitioned=True)

    return models
