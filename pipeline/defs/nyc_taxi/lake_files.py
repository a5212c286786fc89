"""Which months the lake holds: what `python -m pipeline materialize --group nyc_taxi` runs without --start/--end."""

import datetime as dt
import re

from pipeline.defs.nyc_taxi import GROUP
from pipeline.defs.nyc_taxi.layout import month_key
from pipeline.defs.nyc_taxi.settings import env
from pipeline.lib.lake import open_lake
from pipeline.lib.materialize import UsageError, declare_data_range

MONTH_FILE = re.compile(r"^raw/nyc/green_tripdata_(\d{4})-(\d{2})\.csv$")


def months_in_lake() -> tuple[str, str]:
    """The first and last month whose file is in the lake (months in between may be missing: one at a time)."""
    months = [
        dt.date(int(found[1]), int(found[2]), 1)
        for obj in open_lake(env("NYC_TAXI_DATA_URI")).list("raw/nyc/")
        if (found := MONTH_FILE.match(obj.key))
    ]
    if not months:
        raise UsageError(
            f"nyc_taxi: no green_tripdata_YYYY-MM.csv under {env('NYC_TAXI_DATA_URI')}/raw/nyc/: put the month files "
            "there, or generate some (python -m pipeline.defs.nyc_taxi.sample_data DIR), or give --group"
        )
    return month_key(min(months)), month_key(max(months))


declare_data_range(GROUP, months_in_lake)
