"""Resources per environment, in one table: the warehouse named by `WAREHOUSE` and how runs execute against it."""

import dagster as dg

from pipeline.settings import Settings
from pipeline.warehouse import DuckDBWarehouse, Warehouse

WAREHOUSE_RESOURCES = {
    "duckdb": lambda: DuckDBWarehouse(path=dg.EnvVar("DUCKDB_PATH"), extension_dir=dg.EnvVar("DUCKDB_EXTENSION_DIR")),
}


def warehouse_resource(settings: Settings) -> Warehouse:
    return WAREHOUSE_RESOURCES[settings.warehouse]()


def executor_for(warehouse: Warehouse) -> dg.ExecutorDefinition:
    # An embedded database file takes one writer at a time: run the steps one after another in one
    # process. Server warehouses take the steps in parallel processes.
    if warehouse.allows_concurrent_writers:
        return dg.multiprocess_executor
    return dg.in_process_executor
