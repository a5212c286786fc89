"""The weather pipeline's job: an hour (or a range of hours, in one run) from the APIs to its models."""

import dagster as dg

from pipeline.defs.weather import GROUP
from pipeline.defs.weather.freshness import hourly_freshness_checks
from pipeline.defs.weather.partitions import hourly_partitions

weather_hourly_job = dg.define_asset_job(
    name="weather_hourly",
    # The freshness checks are their sensor's: in an hour's run they would judge the clock, not the hour.
    selection=dg.AssetSelection.groups(GROUP) - dg.AssetSelection.checks(*hourly_freshness_checks),
    partitions_def=hourly_partitions,
    description="An hour's top cities, their current weather and the latest cocktails: fetched once into the "
    "lake (API_DATA_URI), then loaded and modelled; a range of hours reloads from the lake in one run.",
)
