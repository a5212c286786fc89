"""The month files themselves: materializing one records the object a run read (key, size, ETag) and fails
loudly when a month's file is missing, so a missing month is never mistaken for an empty one."""

import dagster as dg

from pipeline.defs.nyc_taxi import GROUP
from pipeline.defs.nyc_taxi.layout import csv_key
from pipeline.defs.nyc_taxi.partitions import monthly_backfill_policy, monthly_partitions, months_of
from pipeline.lib.lake import DataLakeResource
from pipeline.lib.retries import retried_on_fault


@dg.asset(
    key=["raw", "green_tripdata"],
    group_name=GROUP,
    partitions_def=monthly_partitions,
    backfill_policy=monthly_backfill_policy,
    kinds={"s3", "csv"},
    description="One TLC green-taxi CSV per month: raw/nyc/green_tripdata_YYYY-MM.csv under NYC_TAXI_DATA_URI.",
)
@retried_on_fault
def raw_green_tripdata(context: dg.AssetExecutionContext, nyc_lake: DataLakeResource) -> dg.MaterializeResult:
    lake, sizes = nyc_lake.get_lake(), []
    for month in months_of(context):
        obj = lake.stat(csv_key(month))
        if obj is None:
            raise dg.Failure(f"{month:%Y-%m}: {lake.uri(csv_key(month))} is not in the lake", allow_retries=False)
        context.log_event(
            dg.AssetObservation(
                asset_key=context.asset_key,
                partition=month.isoformat(),
                metadata={"uri": lake.uri(obj.key), "size": obj.size, "version": obj.version},
            )
        )
        sizes.append(obj.size)
    return dg.MaterializeResult(metadata={"months": len(sizes), "bytes": sum(sizes)})
