"""The month-file sensor: one nyc_taxi_monthly run per new month file, and again when a month's file is replaced
(the TLC republishes corrected months). The cursor holds each month's file version (ETag, or mtime locally).

A file of a month that has no partition yet (the current month, or one before NYC_TAXI_FIRST_MONTH) is not
requested: the first waits for its partition and is requested then, the second is reported.
"""

import json

import dagster as dg

from pipeline.defs.nyc_taxi.jobs import nyc_taxi_monthly_job
from pipeline.defs.nyc_taxi.lake_files import RAW_PREFIX, month_files
from pipeline.defs.nyc_taxi.layout import month_key
from pipeline.defs.nyc_taxi.partitions import monthly_partitions
from pipeline.defs.nyc_taxi.settings import env
from pipeline.lib.environment import sensor_default_status
from pipeline.lib.lake import DataLakeResource


@dg.sensor(
    job=nyc_taxi_monthly_job,
    minimum_interval_seconds=int(env("NYC_TAXI_SENSOR_INTERVAL_SECONDS")),
    default_status=sensor_default_status(),
    description="Requests one nyc_taxi_monthly run per new month file, and again when a month's file is replaced.",
)
def new_month_files_sensor(context: dg.SensorEvaluationContext, nyc_lake: DataLakeResource) -> dg.SensorResult:
    lake = nyc_lake.get_lake()
    seen = json.loads(context.cursor) if context.cursor else {}
    months, others = month_files(lake)
    partitions = set(monthly_partitions.get_partition_keys())
    requests, before_first = [], []
    for month, obj in sorted(months.items()):
        key = month_key(month)
        if key not in partitions:
            if key < env("NYC_TAXI_FIRST_MONTH"):
                before_first.append(lake.uri(obj.key))
            continue  # a month still under way: requested once its partition exists
        if seen.get(key) != obj.version:
            requests.append(
                dg.RunRequest(
                    run_key=f"{key}@{obj.version}", partition_key=key, tags={"nyc_taxi/file_version": obj.version}
                )
            )
            seen[key] = obj.version
    if others or before_first:
        shown = ", ".join([lake.uri(k) for k in others[:10]] + before_first[:10])
        context.log.warning(
            f"ignored under {lake.uri(RAW_PREFIX)}: {len(others)} object(s) that are not green_tripdata_YYYY-MM.csv "
            f"files, {len(before_first)} month file(s) before NYC_TAXI_FIRST_MONTH: {shown}"
        )
    return dg.SensorResult(
        run_requests=requests,
        cursor=json.dumps(seen, sort_keys=True),
        skip_reason=None if requests else "no new or replaced month files",
    )
