"""Warehouses behind one interface: the loads and queries the pipelines need, one module per warehouse.

The embedded default (DuckDB) is imported with the package; a server warehouse's module is imported when
its class is first named (PEP 562), because the client libraries of Snowflake and BigQuery take seconds
and hundreds of MB to import, and every run's process would pay that for a warehouse it does not use.
"""

import importlib

from pipeline.lib.warehouse.base import (
    Column,
    FileLedger,
    JsonBatch,
    LoadError,
    ParquetBatch,
    TableSpec,
    Warehouse,
    ledger_table,
)
from pipeline.lib.warehouse.duckdb import DuckDBWarehouse

_LAZY = {
    "BigQueryWarehouse": "pipeline.lib.warehouse.bigquery",
    "PostgresWarehouse": "pipeline.lib.warehouse.postgres",
    "RedshiftWarehouse": "pipeline.lib.warehouse.redshift",
    "SnowflakeWarehouse": "pipeline.lib.warehouse.snowflake",
}


def __getattr__(name: str) -> type[Warehouse]:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)


__all__ = [
    "BigQueryWarehouse",
    "Column",
    "DuckDBWarehouse",
    "FileLedger",
    "ledger_table",
    "JsonBatch",
    "LoadError",
    "ParquetBatch",
    "PostgresWarehouse",
    "RedshiftWarehouse",
    "SnowflakeWarehouse",
    "TableSpec",
    "Warehouse",
]
