"""Sparkify's SQL checks, declared in quality_checks.yaml beside this file, as asset checks."""

from collections.abc import Sequence
from pathlib import Path

import dagster as dg

from pipeline.defs.sparkify.settings import SparkifySettings
from pipeline.lib.sql_checks import build_asset_check, load_sql_checks

QUALITY_CHECKS_FILE = Path(__file__).with_name("quality_checks.yaml")


def quality_checks(settings: SparkifySettings, assets: Sequence[dg.AssetsDefinition]) -> list[dg.AssetChecksDefinition]:
    """Every check of the YAML file, each on one of these assets, with the configured schema names."""
    asset_keys = {key for asset in assets for key in asset.keys}
    schemas = {"staging": settings.staging_schema, "analytics": settings.analytics_schema}
    return [build_asset_check(c) for c in load_sql_checks(QUALITY_CHECKS_FILE, asset_keys, schemas)]
