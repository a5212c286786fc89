"""Which months the lake holds (what `python -m pipeline materialize --group nyc_taxi` runs without --start/--end),
and which parquet files make up a month's layer."""

import datetime as dt
import re

from pipeline.defs.nyc_taxi import GROUP
from pipeline.defs.nyc_taxi.layout import is_parquet_part, month_key
from pipeline.defs.nyc_taxi.settings import env
from pipeline.lib.lake import DataLake, LakeObject, open_lake
from pipeline.lib.materialize import UsageError, declare_data_range

RAW_PREFIX = "raw/nyc/"
MONTH_FILE = re.compile(r"^raw/nyc/green_tripdata_(\d{4})-(\d{2})\.csv$")


def month_files(lake: DataLake) -> tuple[dict[dt.date, LakeObject], list[str]]:
    """The month files under raw/nyc/ by month, and the keys there that are not month files."""
    months, others = {}, []
    for obj in lake.list(RAW_PREFIX):
        if found := MONTH_FILE.match(obj.key):
            months[dt.date(int(found[1]), int(found[2]), 1)] = obj
        else:
            others.append(obj.key)
    return months, others


def months_in_lake() -> tuple[str, str]:
    """The first and last month whose file is in the lake (months in between may be missing: one at a time)."""
    months, _ = month_files(open_lake(env("NYC_TAXI_DATA_URI")))
    if not months:
        raise UsageError(
            f"nyc_taxi: no green_tripdata_YYYY-MM.csv under {env('NYC_TAXI_DATA_URI')}/raw/nyc/: put the month files "
            "there, or generate some (python -m pipeline.defs.nyc_taxi.sample_data DIR), or give --group"
        )
    return month_key(min(months)), month_key(max(months))


declare_data_range(GROUP, months_in_lake)


def layer_files(lake: DataLake, folder: str) -> tuple[str, ...]:
    """The keys of the parquet files in a month's layer folder, in order; an error naming the folder if none."""
    keys = tuple(obj.key for obj in lake.list(folder) if is_parquet_part(obj.key))
    if not keys:
        raise FileNotFoundError(f"no parquet files under {lake.uri(folder)}: the step that writes it has not run")
    return keys
