"""The month files themselves: materializing one records the object a run read (key, size, ETag) and fails
loudly when a month's file is missing, so a missing month is never mistaken for an empty one."""

import dagster as dg

from pipeline.defs.nyc_taxi.layout import MONTH_FILES
from pipeline.lib.partitioned_files import observation_asset


def raw_green_tripdata(partitions: dg.PartitionsDefinition, group: str) -> dg.AssetsDefinition:
    return observation_asset(
        MONTH_FILES,
        key=["raw", "green_tripdata"],
        lake="nyc_lake",
        partitions_def=partitions,
        group=group,
        kinds={"s3", "csv"},
        description="One TLC green-taxi file per month under NYC_TAXI_DATA_URI: raw/nyc/green_tripdata_YYYY-MM.csv, "
        ".csv.gz or .parquet.",
    )
