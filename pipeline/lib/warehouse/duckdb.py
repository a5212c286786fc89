"""DuckDB, the embedded default warehouse: one database file, loads read by DuckDB's own JSON reader.

The JSON files are read by the engine (local paths, or s3:// through the httpfs extension that the
`duckdb-extension-httpfs` package ships), so a day's file is streamed and never held as Python objects.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import duckdb
import duckdb_extension_httpfs

from pipeline.lib.identifiers import quote
from pipeline.lib.lake import DataLake, S3Access
from pipeline.lib.warehouse.base import Column, FileLedger, JsonBatch, LoadError, ParquetBatch, TableSpec, Warehouse
from pipeline.lib.warehouse.statements import create_table_sql, delete_sql, ledger_statements, partition_delete_sql
from pipeline.lib.warehouse.types import DUCKDB_TYPES

# Errors in the data itself: retrying cannot help. I/O and HTTP errors (S3) are left to retries.
DATA_ERRORS = (duckdb.InvalidInputException, duckdb.ConversionException)

# Threads of a load that reads many objects from S3: each waits on one GET at a time.
REMOTE_FILES_THREADS = 32


def literal(value: str) -> str:
    """A DuckDB string literal."""
    return "'" + value.replace("'", "''") + "'"


def _guarded(column: Column) -> str:
    """The column's value, or an error where DuckDB's reader is laxer than the contract (pipeline/lib/json_records.py).

    DuckDB reads NaN and Infinity into a double and keeps a NUL in text; Postgres and Redshift refuse both.
    The error fails the load; the Python reader then names the file, line and field.
    """
    expr = quote(column.source)
    if column.type == "double":
        refused = literal(f"{column.source}: not a finite number")
        return f"case when {expr} is null or isfinite({expr}) then {expr} else error({refused}) end"
    if column.type == "text":
        refused = literal(f"{column.source}: text contains a NUL character")
        return f"case when contains({expr}, chr(0)) then error({refused}) else {expr} end"
    return expr


def _added_value(column: Column, value: int | str) -> str:
    """A field the batch adds to every object (checked by JsonBatch.added_columns), as a typed literal."""
    return literal(value) if column.type == "text" else f"cast({int(value)} as {DUCKDB_TYPES[column.type]})"


def select_json_sql(table: TableSpec, uris: Sequence[str], batch: JsonBatch, json_format: str = "auto") -> str:
    """The batch's rows as the table's typed columns, from read_json; rows outside its window raise in the query."""
    added = {column.source: value for column, value in batch.added_columns(table)}
    read = [c for c in table.columns if c.source not in added]
    json_columns = ", ".join(f"{literal(c.source)}: {literal(DUCKDB_TYPES[c.type])}" for c in read)
    select = []
    for c in table.columns:
        expr = _added_value(c, added[c.source]) if c.source in added else _guarded(c)
        if c.name == batch.window_column:
            message = literal(f"{c.source} outside [{batch.low}, {batch.high}) of {batch.label}")
            in_window = f"{expr} >= {int(batch.low)} and {expr} < {int(batch.high)}"
            expr = f"case when {in_window} then {expr} else error({message}) end"
        select.append(f"{expr} as {quote(c.name)}")
    files = "[" + ", ".join(literal(u) for u in uris) + "]"
    read = f"read_json({files}, format = {literal(json_format)}, columns = {{{json_columns}}})"
    return f"select {', '.join(select)} from {read}"


def insert_json_sql(table: TableSpec, uris: Sequence[str], batch: JsonBatch, json_format: str = "auto") -> str:
    """One INSERT ... SELECT of select_json_sql."""
    columns = ", ".join(quote(c.name) for c in table.columns)
    select = select_json_sql(table, uris, batch, json_format)
    return f"insert into {quote(table.schema)}.{quote(table.name)} ({columns}) {select}"


def _read_again(load):
    """load(json_format), read again as documents apart (format 'unstructured') if DuckDB found the JSON malformed.

    DuckDB's reader takes files for newline-delimited JSON from their first lines (the fast reading), and then
    refuses a lone CR between objects, which the contract accepts as a line end (docs/guarantees.md). Reading the
    documents apart takes about three times as long, so only a file the fast reading refused is read so.
    """
    try:
        return load("auto")
    except LoadError as exc:
        if "Malformed JSON" not in str(exc):
            raise
    return load("unstructured")


def s3_secret_sql(access: S3Access) -> str:
    options = ["type s3"]
    if access.access_key_id:
        options += [f"key_id {literal(access.access_key_id)}", f"secret {literal(access.secret_access_key or '')}"]
    if access.session_token:
        options.append(f"session_token {literal(access.session_token)}")
    if access.region:
        options.append(f"region {literal(access.region)}")
    if access.endpoint_url:
        endpoint = urlparse(access.endpoint_url)
        # S3-compatible endpoints (MinIO, moto) serve path-style URLs; plain http only if asked for.
        options += [
            f"endpoint {literal(endpoint.netloc)}",
            "url_style 'path'",
            f"use_ssl {'true' if endpoint.scheme == 'https' else 'false'}",
        ]
    return f"create or replace temporary secret lake_s3 ({', '.join(options)})"


def reach_lake(connection: duckdb.DuckDBPyConnection, lake: DataLake) -> bool:
    """Make an S3 lake readable and writable (httpfs and a secret); whether the lake is remote."""
    access = lake.s3_access()
    if access is None:
        return False
    try:
        connection.execute("load httpfs")
    except duckdb.IOException:
        # No downloads at run time: install the extension shipped in the Python package.
        shipped = next(Path(duckdb_extension_httpfs.__file__).parent.rglob("httpfs.duckdb_extension"))
        connection.execute(f"install {literal(str(shipped))}")
        connection.execute("load httpfs")
    connection.execute(s3_secret_sql(access))
    return True


@contextmanager
def lake_connection(lake: DataLake, extension_dir: str | None) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB that reads and writes the lake's URIs (local, or s3:// through httpfs): for work on
    lake files that stores nothing in a database (conversions, checks)."""
    config = {"extension_directory": extension_dir} if extension_dir else {}
    with duckdb.connect(config=config) as connection:
        reach_lake(connection, lake)
        yield connection


class DuckDBWarehouse(Warehouse):
    """A DuckDB database file (`DUCKDB_PATH`)."""

    path: str
    extension_dir: str

    @property
    def allows_concurrent_writers(self) -> bool:
        return False

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        connection = duckdb.connect(self.path, config={"extension_directory": self.extension_dir})
        try:
            yield connection
        finally:
            connection.close()

    def replace_from_json(
        self, lake: DataLake, table: TableSpec, batches: Sequence[JsonBatch], ledger: FileLedger | None = None
    ) -> list[int]:
        return _read_again(lambda json_format: self._replace_from_json(lake, table, batches, ledger, json_format))

    def _replace_from_json(
        self,
        lake: DataLake,
        table: TableSpec,
        batches: Sequence[JsonBatch],
        ledger: FileLedger | None,
        json_format: str,
    ) -> list[int]:
        counts = []
        with self.connect() as connection:
            for spec in (table, ledger.table) if ledger else (table,):
                for statement in create_table_sql(spec, DUCKDB_TYPES):
                    connection.execute(statement)
            remote = reach_lake(connection, lake)
            connection.begin()
            for batch in batches:
                try:
                    if not batch.append:
                        connection.execute(delete_sql(table, batch.window_column, batch.low, batch.high))
                    if batch.keys:
                        uris = _read_settings(connection, lake, batch, remote)
                        insert = insert_json_sql(table, uris, batch, json_format)
                        counts.append(connection.execute(insert).fetchone()[0])
                    else:
                        counts.append(0)
                except DATA_ERRORS as exc:
                    connection.rollback()
                    raise LoadError(batch, f"{batch.label}: {exc}") from exc
            if ledger:
                before, insert = ledger_statements(ledger, "?")
                for statement in before:
                    connection.execute(statement)
                if ledger.files:
                    connection.executemany(insert, [list(f) for f in ledger.files])
            connection.commit()
        return counts

    def replace_from_parquet(self, lake: DataLake, table: TableSpec, batches: Sequence[ParquetBatch]) -> list[int]:
        counts = []
        with self.connect() as connection:
            for statement in create_table_sql(table, DUCKDB_TYPES):
                connection.execute(statement)
            reach_lake(connection, lake)
            connection.begin()
            for batch in batches:
                try:
                    connection.execute(partition_delete_sql(table, batch))
                    files = "[" + ", ".join(literal(lake.uri(key)) for key in batch.keys) + "]"
                    columns = ", ".join(quote(c.name) for c in table.columns)
                    counts.append(
                        connection.execute(
                            f"insert into {quote(table.schema)}.{quote(table.name)} ({columns}) "
                            f"select {columns} from read_parquet({files})"
                        ).fetchone()[0]
                    )
                except (*DATA_ERRORS, duckdb.BinderException) as exc:
                    connection.rollback()
                    raise LoadError(batch, f"{batch.label}: {exc}") from exc
            connection.commit()
        return counts

    def write_parquet(self, lake: DataLake, table: TableSpec, batch: JsonBatch, path: Path) -> int:
        """The batch's rows, read and checked as replace_from_json reads them, streamed into a Parquet file
        with the table's types (a load file for a warehouse that cannot read the lake); the rows written.

        Nothing is stored in the database: with path ":memory:" the conversion uses no database file.
        """
        return _read_again(lambda json_format: self._write_parquet(lake, table, batch, path, json_format))

    def _write_parquet(self, lake: DataLake, table: TableSpec, batch: JsonBatch, path: Path, json_format: str) -> int:
        with self.connect() as connection:
            uris = _read_settings(connection, lake, batch, reach_lake(connection, lake))
            try:
                select = select_json_sql(table, uris, batch, json_format)
                return connection.execute(f"copy ({select}) to {literal(str(path))} (format parquet)").fetchone()[0]
            except DATA_ERRORS as exc:
                raise LoadError(batch, f"{batch.label}: {exc}") from exc

    def query(self, sql: str) -> list[tuple]:
        with self.connect() as connection:
            return connection.execute(sql).fetchall()

    def execute(self, sql: str) -> None:
        with self.connect() as connection:
            connection.execute(sql)


def _read_settings(connection: duckdb.DuckDBPyConnection, lake: DataLake, batch: JsonBatch, remote: bool) -> list[str]:
    """The batch's object URIs, with the connection tuned to read them; a local lake needs no tuning."""
    uris = [lake.uri(key) for key in batch.keys]
    if remote:
        many = len(uris) > 1
        # Many small objects (song files): one whole GET each instead of a HEAD and ranged GETs
        # (2,000 song files from S3 on loopback: 4.5 s instead of 8.6 s). A day's file, however big, stays streamed.
        connection.execute(f"set force_download = {'true' if many else 'false'}")
        # DuckDB's reads block their thread, so the threads are the GETs in flight: one per core would
        # leave a many-file load waiting on S3's latency.
        connection.execute(f"set threads = {REMOTE_FILES_THREADS}" if many else "reset threads")
    return uris
