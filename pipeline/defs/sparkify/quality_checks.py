"""Sparkify's SQL checks, declared in quality_checks.yaml beside this file, as asset checks."""

from pathlib import Path

import dagster as dg

from pipeline.defs.sparkify import dbt_assets, raw_assets, staging_assets
from pipeline.defs.sparkify.settings import SparkifySettings
from pipeline.lib.sql_checks import build_asset_check, load_sql_checks

QUALITY_CHECKS_FILE = Path(__file__).with_name("quality_checks.yaml")


def quality_checks() -> list[dg.AssetChecksDefinition]:
    """Every check of the YAML file, each on an asset of this pipeline, with the configured schema names."""
    assets = dg.load_assets_from_modules([raw_assets, staging_assets, dbt_assets])
    asset_keys = {key for a in assets for key in a.keys}
    settings = SparkifySettings.from_env()
    schemas = {"staging": settings.staging_schema, "analytics": settings.analytics_schema}
    return [build_asset_check(c) for c in load_sql_checks(QUALITY_CHECKS_FILE, asset_keys, schemas)]


defs = dg.Definitions(asset_checks=quality_checks())
