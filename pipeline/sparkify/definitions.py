"""Sparkify's definitions: its assets, checks, jobs and resources, merged by pipeline/definitions.py."""

from pathlib import Path

import dagster as dg
from dagster_aws.s3 import S3Resource

from pipeline.dbt_cli import dbt_resource
from pipeline.lake import DataLakeResource
from pipeline.settings import Settings
from pipeline.sparkify import checks, dbt_assets, raw_assets, staging_assets
from pipeline.sparkify.freshness import daily_freshness_checks, freshness_checks_sensor
from pipeline.sparkify.jobs import sparkify_daily_job, sparkify_songs_job
from pipeline.sparkify.schedules import sparkify_daily_schedule
from pipeline.sparkify.sensors import new_log_days_sensor, song_files_sensor
from pipeline.sql_checks import build_asset_check, load_sql_checks

QUALITY_CHECKS_FILE = Path(__file__).with_name("quality_checks.yaml")


def sparkify_definitions() -> dg.Definitions:
    assets = dg.load_assets_from_modules([raw_assets, staging_assets, dbt_assets])
    asset_keys = {key for a in assets for key in a.keys}
    settings = Settings.from_env()
    schemas = {"staging": settings.staging_schema, "analytics": settings.analytics_schema}
    sql_checks = [build_asset_check(c) for c in load_sql_checks(QUALITY_CHECKS_FILE, asset_keys, schemas)]
    return dg.Definitions(
        assets=assets,
        asset_checks=[*dg.load_asset_checks_from_modules([checks]), *sql_checks, *daily_freshness_checks],
        jobs=[sparkify_daily_job, sparkify_songs_job],
        schedules=[sparkify_daily_schedule],
        sensors=[new_log_days_sensor, song_files_sensor, freshness_checks_sensor],
        resources={
            "sparkify_lake": DataLakeResource(data_uri=dg.EnvVar("SPARKIFY_DATA_URI"), s3=S3Resource()),
            "dbt": dbt_resource(dbt_assets.sparkify_dbt_project, settings.warehouse),
        },
    )
