"""The lake's derived layers, a folder of parquet files per month: the typed trips (staging) and fare by zone
(gold), computed by the engine NYC_TAXI_ENGINE names: duckdb in this process, or spark/month_job.py on a local
Spark, AWS Glue or EMR Serverless (spark_engine.py)."""

import dagster as dg

from pipeline.defs.nyc_taxi import GROUP, duckdb_engine, spark_engine
from pipeline.defs.nyc_taxi.layout import fare_by_zone_folder, trips_folder
from pipeline.defs.nyc_taxi.partitions import monthly_backfill_policy, monthly_partitions, months_of
from pipeline.defs.nyc_taxi.raw_assets import raw_green_tripdata
from pipeline.defs.nyc_taxi.settings import env
from pipeline.lib.lake import DataLakeResource
from pipeline.lib.retries import retried_on_fault


def _engine() -> str:
    engine = env("NYC_TAXI_ENGINE").lower()
    if engine != "duckdb" and engine not in spark_engine.SPARK_ENGINES:
        raise dg.Failure(
            f"NYC_TAXI_ENGINE={engine!r}: use duckdb, {', '.join(spark_engine.SPARK_ENGINES)} (docs/nyc_taxi.md)",
            allow_retries=False,
        )
    return engine


@dg.asset(
    key=["staging", "green_trips"],
    deps=[raw_green_tripdata],
    group_name=GROUP,
    partitions_def=monthly_partitions,
    backfill_policy=monthly_backfill_policy,
    kinds={"duckdb", "spark", "parquet"},
    description="The month's trips typed (congestion_surcharge dropped, as the original), with the source file and "
    "line of each: staging/nyc/YYYY-MM/*.parquet.",
)
@retried_on_fault
def staging_green_trips(context: dg.AssetExecutionContext, nyc_lake: DataLakeResource) -> dg.MaterializeResult:
    engine, lake, rows, skipped = _engine(), nyc_lake.get_lake(), 0, 0
    if engine != "duckdb":
        return spark_engine.run_step(context, engine, lake, "stage", months_of(context))
    for month in months_of(context):
        try:
            read = duckdb_engine.stage_month(lake, month, env("DUCKDB_EXTENSION_DIR"))
        except duckdb_engine.MonthRejected as exc:
            raise dg.Failure(f"staging/green_trips not written, nothing changed: {exc}", allow_retries=False) from exc
        context.log.info(f"{month:%Y-%m}: {read['rows']} trips -> {lake.uri(trips_folder(month))}")
        rows, skipped = rows + read["rows"], skipped + read["repeated_headers_skipped"]
    return dg.MaterializeResult(metadata={"rows": rows, "repeated_headers_skipped": skipped})


@dg.asset(
    key=["gold", "fare_by_zone"],
    deps=[staging_green_trips],
    group_name=GROUP,
    partitions_def=monthly_partitions,
    backfill_policy=monthly_backfill_policy,
    kinds={"duckdb", "spark", "parquet"},
    description="Sum of fare by pickup zone, trip type and payment type for the month (the original's EMR job), "
    "empty values forming their own groups: gold/nyc/YYYY-MM/*.parquet.",
)
@retried_on_fault
def gold_fare_by_zone(context: dg.AssetExecutionContext, nyc_lake: DataLakeResource) -> dg.MaterializeResult:
    engine, lake, groups, fare = _engine(), nyc_lake.get_lake(), 0, 0.0
    if engine != "duckdb":
        return spark_engine.run_step(context, engine, lake, "aggregate", months_of(context))
    for month in months_of(context):
        made = duckdb_engine.aggregate_month(lake, month, env("DUCKDB_EXTENSION_DIR"))
        context.log.info(f"{month:%Y-%m}: {made['groups']} groups -> {lake.uri(fare_by_zone_folder(month))}")
        groups, fare = groups + made["groups"], fare + made["fare_amount"]
    return dg.MaterializeResult(metadata={"groups": groups, "fare_amount": round(fare, 2)})
