"""The NYC-taxi pipeline's job: a month (or a range of months, in one run) from its CSV to the analytics model."""

import dagster as dg

from pipeline.defs.nyc_taxi import GROUP
from pipeline.defs.nyc_taxi.partitions import monthly_partitions

nyc_taxi_monthly_job = dg.define_asset_job(
    name="nyc_taxi_monthly",
    selection=dg.AssetSelection.groups(GROUP),
    partitions_def=monthly_partitions,
    description="A month's green-taxi CSV typed to parquet, aggregated by pickup zone, loaded and modelled; a "
    "range of months runs in one run.",
)
