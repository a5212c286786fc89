"""Sparkify's resources: its data lake (SPARKIFY_DATA_URI, a folder or s3://bucket/prefix)."""

import dagster as dg
from dagster_aws.s3 import S3Resource

from pipeline.defs.sparkify import settings as _settings  # noqa: F401  (declares SPARKIFY_DATA_URI's default)
from pipeline.lib.lake import DataLakeResource

defs = dg.Definitions(
    resources={"sparkify_lake": DataLakeResource(data_uri=dg.EnvVar("SPARKIFY_DATA_URI"), s3=S3Resource())}
)
