"""The NYC-taxi lake (NYC_TAXI_DATA_URI): month files in, typed and aggregated parquet out."""

import dagster as dg
from dagster_aws.s3 import S3Resource

from pipeline.lib.lake import DataLakeResource

defs = dg.Definitions(
    resources={"nyc_lake": DataLakeResource(data_uri=dg.EnvVar("NYC_TAXI_DATA_URI"), s3=S3Resource())}
)
