"""The warehouse tables: each month's parquet files loaded into NYC_TAXI_SCHEMA, a month replaced whole in one
transaction, so re-running a month changes nothing: `main_data` (the aggregate, the original's Redshift table)
and `green_trips` (the typed trips with their lineage, snowflake-on-ecs's raw table typed)."""

import dagster as dg

from pipeline.defs.nyc_taxi.lake_files import layer_files
from pipeline.defs.nyc_taxi.layout import FARE_BY_ZONE_COLUMNS, TRIP_COLUMNS, fare_by_zone_folder, trips_folder
from pipeline.defs.nyc_taxi.partitions import months_of
from pipeline.lib.lake import DataLakeResource
from pipeline.lib.metadata import loaded_table, record_partition_row_counts, warehouse_table
from pipeline.lib.retries import retried_on_fault
from pipeline.lib.warehouse import Column, LoadError, ParquetBatch, TableSpec, Warehouse


def green_trips_table(schema: str) -> TableSpec:
    return TableSpec(schema, "green_trips", tuple(Column(name, kind, name) for name, kind in TRIP_COLUMNS))


def main_data_table(schema: str) -> TableSpec:
    return TableSpec(schema, "main_data", tuple(Column(name, kind, name) for name, kind in FARE_BY_ZONE_COLUMNS))


def _load(
    context, nyc_lake: DataLakeResource, warehouse: Warehouse, table: TableSpec, folder_of, recorded: dict[str, object]
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
    # A month's batch replaces the whole month, so the rows it loaded are the month's rows now.
    record_partition_row_counts(context, dict(zip(context.partition_keys, counts, strict=True)))
    return dg.MaterializeResult(metadata=recorded)


def warehouse_assets(
    schema: str,
    partitions: dg.PartitionsDefinition,
    lake_layers: list[dg.AssetsDefinition],
    group: str,
    warehouse: str,
) -> list[dg.AssetsDefinition]:
    """nyc/green_trips and nyc/main_data in the schema (NYC_TAXI_SCHEMA) of the warehouse WAREHOUSE names, from the
    lake's two layers."""
    staging_green_trips, gold_fare_by_zone = lake_layers
    green_trips, main_data = green_trips_table(schema), main_data_table(schema)
    trips_loaded, fares_loaded = loaded_table(green_trips, warehouse), loaded_table(main_data, warehouse)

    @dg.asset(
        key=["nyc", "green_trips"],
        deps=[staging_green_trips],
        group_name=group,
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        kinds={warehouse},
        metadata=warehouse_table(green_trips, warehouse),
        description="The typed trips of each month with source_file and source_row, replaced a month at a time.",
    )
    @retried_on_fault
    def green_trips_loaded(
        context: dg.AssetExecutionContext, nyc_lake: DataLakeResource, warehouse: Warehouse
    ) -> dg.MaterializeResult:
        return _load(context, nyc_lake, warehouse, green_trips, trips_folder, trips_loaded)

    @dg.asset(
        key=["nyc", "main_data"],
        deps=[gold_fare_by_zone],
        group_name=group,
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        kinds={warehouse},
        metadata=warehouse_table(main_data, warehouse),
        description="Fare by pickup zone, trip type and payment type per month (the original's nyc.main_data), "
        "replaced a month at a time.",
    )
    @retried_on_fault
    def main_data_loaded(
        context: dg.AssetExecutionContext, nyc_lake: DataLakeResource, warehouse: Warehouse
    ) -> dg.MaterializeResult:
        return _load(context, nyc_lake, warehouse, main_data, fare_by_zone_folder, fares_loaded)

    return [green_trips_loaded, main_data_loaded]
