"""Warehouses behind one interface: the loads and queries the pipelines need, one module per warehouse."""

from pipeline.lib.warehouse.base import Column, FileLedger, JsonBatch, LoadError, TableSpec, Warehouse, ledger_table
from pipeline.lib.warehouse.bigquery import BigQueryWarehouse
from pipeline.lib.warehouse.duckdb import DuckDBWarehouse
from pipeline.lib.warehouse.postgres import PostgresWarehouse
from pipeline.lib.warehouse.redshift import RedshiftWarehouse
from pipeline.lib.warehouse.snowflake import SnowflakeWarehouse

__all__ = [
    "BigQueryWarehouse",
    "Column",
    "DuckDBWarehouse",
    "FileLedger",
    "ledger_table",
    "JsonBatch",
    "LoadError",
    "PostgresWarehouse",
    "RedshiftWarehouse",
    "SnowflakeWarehouse",
    "TableSpec",
    "Warehouse",
]
