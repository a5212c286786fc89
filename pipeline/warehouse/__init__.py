"""Warehouses behind one interface: the loads and queries the pipelines need, one module per warehouse."""

from pipeline.warehouse.base import Column, FileLedger, JsonBatch, LoadError, TableSpec, Warehouse, ledger_table
from pipeline.warehouse.duckdb import DuckDBWarehouse
from pipeline.warehouse.postgres import PostgresWarehouse
from pipeline.warehouse.redshift import RedshiftWarehouse

__all__ = ["Column", "DuckDBWarehouse", "FileLedger", "ledger_table", "JsonBatch", "LoadError", "PostgresWarehouse", "RedshiftWarehouse", "TableSpec", "Warehouse"]
