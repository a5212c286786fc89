"""Asset keys and groups of dbt models, read from where a model lives in the one dbt project.

A model's first folder under models/ is its pipeline and names its asset group; the folders below it
prefix its key (models/sparkify/analytics/songplays.sql -> group `sparkify`, key `analytics/songplays`;
a model straight in its pipeline's folder, models/nyc_taxi/trips.sql, is keyed `nyc_taxi/trips`).
So a pipeline's models can only ever join that pipeline's group. Sources keep dagster-dbt's keys
(`staging/staging_events`): the pipeline's own Python assets that load them. The warehouse a model is shown on
(its kind and storage kind) is the project's target, the one WAREHOUSE names, not the one the manifest was parsed
for (the image parses it once, on DuckDB). Each model links to its `.sql` (dagster-dbt's code references).
"""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtProject

from pipeline.lib.code_references import quietly
from pipeline.lib.metadata import STORAGE_KIND


def model_folders(dbt_resource_props: Mapping[str, Any]) -> list[str]:
    """The folders between models/ and the model's file ("fqn" is [project, *folders, name])."""
    return list(dbt_resource_props["fqn"][1:-1])


class PipelineDbtTranslator(DagsterDbtTranslator):
    def __init__(self, settings: DagsterDbtTranslatorSettings | None = None):
        super().__init__(settings or DagsterDbtTranslatorSettings(enable_code_references=True))

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] != "model":
            return super().get_asset_key(dbt_resource_props)
        folders = model_folders(dbt_resource_props)
        return dg.AssetKey([*(folders[1:] or folders), dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        folders = model_folders(dbt_resource_props)
        return folders[0] if folders else super().get_group_name(dbt_resource_props)

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None) -> dg.AssetSpec:
        with quietly():  # dagster-dbt makes each model's code reference with Dagster's beta classes
            spec = super().get_asset_spec(manifest, unique_id, project)
        parsed_for = manifest.get("metadata", {}).get("adapter_type")
        # profiles.yml names each target after its warehouse (duckdb, postgres, ...): the target is the warehouse.
        warehouse = project.target if project and project.target else parsed_for
        if not warehouse or warehouse == parsed_for:
            return spec
        return spec.replace_attributes(
            kinds={warehouse if kind == parsed_for else kind for kind in spec.kinds},
            metadata={**spec.metadata, STORAGE_KIND: warehouse},
        )
