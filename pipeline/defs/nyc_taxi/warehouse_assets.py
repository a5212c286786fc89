"""The warehouse tables: each month's parquet files loaded into NYC_TAXI_SCHEMA, a month replaced whole in one
transaction, so re-running a month changes nothing: `main_data` (the aggregate, the original's Redshift table)
and `green_trips` (the typed trips with their lineage, snowflake-on-ecs's raw table typed)."""

import dagster as dg

from pipeline.defs.nyc_taxi import GROUP
from pipeline.defs.nyc_taxi.lake_assets import gold_fare_by_zone, staging_green_trips
from pipeline.defs.nyc_taxi.lake_files import layer_files
from pipeline.defs.nyc_taxi.layout import FARE_BY_ZONE_COLUMNS, TRIP_COLUMNS, fare_by_zone_folder, trips_folder
from pipeline.defs.nyc_taxi.partitions import monthly_backfill_policy, monthly_partitions, months_of
from pipeline.defs.nyc_taxi.settings import SCHEMA
from pipeline.lib.lake import DataLakeResource
from pipeline.lib.materialize import TABLE_NAME
from pipeline.lib.retries import retried_on_fault
from pipeline.lib.warehouse import Column, LoadError, ParquetBatch, TableSpec, Warehouse

GREEN_TRIPS = TableSpec(SCHEMA, "green_trips", tuple(Column(name, kind, name) for name, kind in TRIP_COLUMNS))
MAIN_DATA = TableSpec(SCHEMA, "main_data", tuple(Column(name, kind, name) for name, kind in FARE_BY_ZONE_COLUMNS))


def _load(
    context, nyc_lake: DataLakeResource, warehouse: Warehouse, table: TableSpec, folder_of
) -> dg.MaterializeResult:
    lake = nyc_lake.get_lake()
    batches = [
        ParquetBatch(keys=layer_files(lake, folder_of(month)), column="month", value=month, label=f"{month:%Y-%m}")
        for month in months_of(context)
    ]
    try:
        counts = warehouse.replace_from_parquet(lake, table, batches)
    except LoadError as exc:
        raise dg.Failure(f"{table.qualified} not loaded, nothing changed: {exc}", allow_retries=False) from exc
    return dg.MaterializeResult(metadata={"rows_loaded": sum(counts), "table": table.qualified})


@dg.asset(
    key=["nyc", "green_trips"],
    deps=[staging_green_trips],
    group_name=GROUP,
    partitions_def=monthly_partitions,
    backfill_policy=monthly_backfill_policy,
    kinds={"sql"},
    metadata={TABLE_NAME: GREEN_TRIPS.qualified},
    description="The typed trips of each month with source_file and source_row, replaced a month at a time.",
)
@retried_on_fault
def green_trips_table(
    context: dg.AssetExecutionContext, nyc_lake: DataLakeResource, warehouse: Warehouse
) -> dg.MaterializeResult:
    return _load(context, nyc_lake, warehouse, GREEN_TRIPS, trips_folder)


@dg.asset(
    key=["nyc", "main_data"],
    deps=[gold_fare_by_zone],
    group_name=GROUP,
    partitions_def=monthly_partitions,
    backfill_policy=monthly_backfill_policy,
    kinds={"sql"},
    metadata={TABLE_NAME: MAIN_DATA.qualified},
    description="Fare by pickup zone, trip type and payment type per month (the original's nyc.main_data), "
    "replaced a month at a time.",
)
@retried_on_fault
def main_data_table(
    context: dg.AssetExecutionContext, nyc_lake: DataLakeResource, warehouse: Warehouse
) -> dg.MaterializeResult:
    return _load(context, nyc_lake, warehouse, MAIN_DATA, fare_by_zone_folder)
