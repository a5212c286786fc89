"""The lake's derived layers, a folder of parquet files per month: the typed trips (staging) and fare by zone
(gold), computed by the engine NYC_TAXI_ENGINE names: duckdb in this process, or spark/month_job.py on a local
Spark, AWS Glue or EMR Serverless (spark_engine.py). With NYC_TAXI_GLUE_DATABASE set, each month written is
registered as its partition of the layer's Glue catalog table, whichever the engine. A month file that is missing or
holds no trip fails staging before any engine runs (the kit's check, as the raw asset's), unless the run clears
empty months on purpose (CLEAR_EMPTY_MONTHS_TAG)."""

import datetime as dt
from collections.abc import Callable

import dagster as dg

from pipeline.defs.nyc_taxi import duckdb_engine
from pipeline.defs.nyc_taxi.layout import (
    FARE_BY_ZONE_PREFIX,
    FARE_BY_ZONE_TABLE,
    MONTH_FILES,
    TRIPS_PREFIX,
    TRIPS_TABLE,
    catalog_month,
    fare_by_zone_folder,
    trips_folder,
)
from pipeline.defs.nyc_taxi.partitions import months_of
from pipeline.defs.nyc_taxi.settings import NycTaxiSettings
from pipeline.lib.catalog import CatalogTableMissing, register_partition
from pipeline.lib.lake import DataLake, DataLakeResource
from pipeline.lib.metadata import URI
from pipeline.lib.retries import retried_on_fault


def catalog_partition(
    settings: NycTaxiSettings, lake: DataLake, table: str, folder_of: Callable[[dt.date], str], month: dt.date
) -> str | None:
    """The month's folder registered as its partition of the catalog table (created, or updated on a re-run);
    its name, or None when no catalog is configured."""
    if not settings.glue_database:
        return None
    location = lake.uri(folder_of(month))
    try:
        return register_partition(settings.glue_database, table, [catalog_month(month)], location)
    except CatalogTableMissing as exc:
        raise dg.Failure(
            f"{location} is written but not in the catalog (NYC_TAXI_GLUE_DATABASE): {exc}", allow_retries=False
        ) from exc


def catalog_metadata(registered: list[str | None]) -> dict[str, str]:
    """The partitions registered, on the materialization (every month of a range run carries the same)."""
    names = [name for name in registered if name]
    return {"glue_partition": ", ".join(names)} if names else {}


def run_on_spark(
    context,
    settings: NycTaxiSettings,
    lake,
    step: str,
    table: str,
    prefix: str,
    folder_of: Callable[[dt.date], str],
    clear_empty: bool = False,
) -> dg.MaterializeResult:
    # The Spark launchers (boto3 and dagster-aws's Pipes clients) load only for a step on Spark: importing
    # dagster-aws costs every load of the code location ~0.9 s.
    from pipeline.defs.nyc_taxi import spark_engine

    months = months_of(context)
    result = spark_engine.run_step(context, settings, lake, step, months, clear_empty)
    # The job writes every month of the range before it reports: each is registered once the job has succeeded.
    registered = [catalog_partition(settings, lake, table, folder_of, month) for month in months]
    return result._replace(metadata={URI: lake.uri(prefix), **(result.metadata or {}), **catalog_metadata(registered)})


def lake_assets(
    settings: NycTaxiSettings,
    extension_dir: str,
    partitions: dg.PartitionsDefinition,
    raw_green_tripdata: dg.AssetsDefinition,
    group: str,
) -> list[dg.AssetsDefinition]:
    """staging/green_trips and gold/fare_by_zone, on the settings' engine."""

    @dg.asset(
        key=["staging", "green_trips"],
        deps=[raw_green_tripdata],
        group_name=group,
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        kinds={"duckdb", "spark", "parquet"},
        description="The month's trips typed (congestion_surcharge dropped, as the original), with the source file and "
        "line of each: staging/nyc/YYYY-MM/*.parquet.",
    )
    @retried_on_fault
    def staging_green_trips(context: dg.AssetExecutionContext, nyc_lake: DataLakeResource) -> dg.MaterializeResult:
        engine, lake, rows, skipped = settings.engine, nyc_lake.get_lake(), 0, 0
        clear_empty = MONTH_FILES.clears_empty(context)
        # Before any engine reads: a missing month file, or one that holds no trip, fails here naming it.
        MONTH_FILES.files(lake, context.partition_keys, clear_empty)
        if engine != "duckdb":
            return run_on_spark(context, settings, lake, "stage", TRIPS_TABLE, TRIPS_PREFIX, trips_folder, clear_empty)
        registered = []
        for month in months_of(context):
            try:
                read = duckdb_engine.stage_month(lake, month, extension_dir, clear_empty)
            except duckdb_engine.MonthRejected as exc:
                raise dg.Failure(
                    f"staging/green_trips not written, nothing changed: {exc}", allow_retries=False
                ) from exc
            context.log.info(f"{month:%Y-%m}: {read['rows']} trips -> {lake.uri(trips_folder(month))}")
            rows, skipped = rows + read["rows"], skipped + read["repeated_headers_skipped"]
            registered.append(catalog_partition(settings, lake, TRIPS_TABLE, trips_folder, month))
        metadata = {
            URI: lake.uri(TRIPS_PREFIX),
            "rows": rows,
            "repeated_headers_skipped": skipped,
            **catalog_metadata(registered),
        }
        return dg.MaterializeResult(metadata=metadata)

    @dg.asset(
        key=["gold", "fare_by_zone"],
        deps=[staging_green_trips],
        group_name=group,
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        kinds={"duckdb", "spark", "parquet"},
        description="Sum of fare by pickup zone, trip type and payment type for the month (the original's EMR job), "
        "empty values forming their own groups: gold/nyc/YYYY-MM/*.parquet.",
    )
    @retried_on_fault
    def gold_fare_by_zone(context: dg.AssetExecutionContext, nyc_lake: DataLakeResource) -> dg.MaterializeResult:
        engine, lake, groups, fare = settings.engine, nyc_lake.get_lake(), 0, 0.0
        if engine != "duckdb":
            return run_on_spark(
                context, settings, lake, "aggregate", FARE_BY_ZONE_TABLE, FARE_BY_ZONE_PREFIX, fare_by_zone_folder
            )
        registered = []
        for month in months_of(context):
            made = duckdb_engine.aggregate_month(lake, month, extension_dir)
            context.log.info(f"{month:%Y-%m}: {made['groups']} groups -> {lake.uri(fare_by_zone_folder(month))}")
            groups, fare = groups + made["groups"], fare + made["fare_amount"]
            registered.append(catalog_partition(settings, lake, FARE_BY_ZONE_TABLE, fare_by_zone_folder, month))
        metadata = {
            URI: lake.uri(FARE_BY_ZONE_PREFIX),
            "groups": groups,
            "fare_amount": round(fare, 2),
            **catalog_metadata(registered),
        }
        return dg.MaterializeResult(metadata=metadata)

    return [staging_green_trips, gold_fare_by_zone]
