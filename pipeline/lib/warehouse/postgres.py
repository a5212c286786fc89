"""Postgres as a warehouse: each lake object is streamed through the Python JSON reader into `COPY ... FROM STDIN`.

Postgres reads no JSON files itself, so objects are parsed here (JSON Lines, pretty-printed or back to
back), checked against the table's types with their line numbers, and sent as CSV: one COPY per
batch, never row-by-row INSERTs, and never a whole file in memory.
"""

import io
import json
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import psycopg2

from pipeline.lib.json_records import RawDataError, iter_objects, object_problem
from pipeline.lib.lake import DataLake
from pipeline.lib.warehouse.base import FileLedger, JsonBatch, LoadError, ParquetBatch, TableSpec
from pipeline.lib.warehouse.server import ServerWarehouse, record_ledger, rollback_quietly
from pipeline.lib.warehouse.statements import column_list, create_table_sql, delete_sql, partition_delete_sql, target
from pipeline.lib.warehouse.types import POSTGRES_TYPES

# Errors in the data itself: retrying cannot help. Anything else (a dropped connection) is left to retries.
DATA_ERRORS = (psycopg2.DataError, psycopg2.IntegrityError)


def copy_sql(table: TableSpec) -> str:
    return f"copy {target(table)} ({column_list(table)}) from stdin with (format csv)"


def csv_field(value) -> str:
    """CSV for COPY: NULL is an empty unquoted field, so an empty string must be quoted ("" stays "")."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)  # repr round-trips a double exactly: the song join compares durations for equality
    # An object or array becomes its compact JSON text, character for character what DuckDB's reader makes.
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return '"' + text.replace('"', '""') + '"'


def csv_rows(lake: DataLake, table: TableSpec, batch: JsonBatch) -> Iterator[str]:
    """One CSV line per object of the batch's files, each object checked first (RawDataError names the line)."""
    window = None
    if batch.window_column is not None:
        window = (batch.window_column, batch.low, batch.high, batch.label)
    added = {column.source: value for column, value in batch.added_columns(table)}
    for key in batch.keys:
        uri = lake.uri(key)
        with lake.open(key) as stream:
            for line, obj in iter_objects(stream, uri):
                obj = {**obj, **added} if added else obj
                problem = object_problem(obj, table, window)
                if problem:
                    raise RawDataError(uri, line, problem[1], problem[0])
                yield ",".join(csv_field(obj.get(c.source)) for c in table.columns) + "\n"


class _LineReader(io.TextIOBase):
    """A file-like view of lines, which is what psycopg2's copy_expert reads from.

    psycopg2 reports an exception raised while reading as a cancelled COPY; the reader keeps the
    original so the load can say which line of which file was wrong.
    """

    def __init__(self, lines: Iterator[str]):
        self._lines, self._buffer = lines, ""
        self.error: RawDataError | None = None

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> str:
        while size < 0 or len(self._buffer) < size:
            try:
                self._buffer += next(self._lines)
            except StopIteration:
                break
            except RawDataError as exc:
                self.error = exc
                raise
        if size < 0:
            size = len(self._buffer)
        chunk, self._buffer = self._buffer[:size], self._buffer[size:]
        return chunk

    def readline(self, size: int = -1) -> str:
        return self.read(size)


class PostgresWarehouse(ServerWarehouse):
    """A Postgres database (POSTGRES_HOST, POSTGRES_PORT, POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB)."""

    extension_dir: str | None = None  # DuckDB's extensions, to read Parquet from an s3:// lake

    def replace_from_parquet(self, lake: DataLake, table: TableSpec, batches: Sequence[ParquetBatch]) -> list[int]:
        """Postgres reads no Parquet: DuckDB converts each batch to CSV in a temporary file (streamed, NULL as an
        empty field, an empty string quoted), sent with one COPY per batch, all in one transaction."""
        with self.connect() as connection, tempfile.TemporaryDirectory() as folder:
            with connection.cursor() as cursor:
                for statement in create_table_sql(table, POSTGRES_TYPES):
                    cursor.execute(statement)
            connection.commit()
            counts = []
            for n, batch in enumerate(batches):
                csv_path = Path(folder) / f"{n}.csv"
                _parquet_to_csv(lake, table, batch, csv_path, self.extension_dir)
                try:
                    with connection.cursor() as cursor, csv_path.open() as rows:
                        cursor.execute(partition_delete_sql(table, batch))
                        cursor.copy_expert(copy_sql(table), rows, size=1 << 16)
                        counts.append(cursor.rowcount)
                except DATA_ERRORS as exc:
                    rollback_quietly(connection)
                    raise LoadError(batch, f"{batch.label}: {exc}") from exc
                except BaseException:
                    rollback_quietly(connection)
                    raise
                csv_path.unlink()
            connection.commit()
        return counts

    def replace_from_json(
        self, lake: DataLake, table: TableSpec, batches: Sequence[JsonBatch], ledger: FileLedger | None = None
    ) -> list[int]:
        with self.connect() as connection:
            with connection.cursor() as cursor:
                for spec in (table, ledger.table) if ledger else (table,):
                    for statement in create_table_sql(spec, POSTGRES_TYPES):
                        cursor.execute(statement)
            connection.commit()
            counts = []
            for batch in batches:
                rows = _LineReader(csv_rows(lake, table, batch))
                try:
                    with connection.cursor() as cursor:
                        if not batch.append:
                            cursor.execute(delete_sql(table, batch.window_column, batch.low, batch.high))
                        cursor.copy_expert(copy_sql(table), rows, size=1 << 16)
                        counts.append(cursor.rowcount)
                except (psycopg2.Error, RawDataError) as exc:
                    rollback_quietly(connection)
                    if rows.error is not None:
                        raise LoadError(batch, f"{batch.label}: {rows.error}") from rows.error
                    if isinstance(exc, DATA_ERRORS):
                        raise LoadError(batch, f"{batch.label}: {exc}") from exc
                    raise
                except BaseException:
                    rollback_quietly(connection)
                    raise
            record_ledger(connection, ledger)
            connection.commit()
        return counts


def _parquet_to_csv(
    lake: DataLake, table: TableSpec, batch: ParquetBatch, path: Path, extension_dir: str | None
) -> None:
    from pipeline.lib.warehouse.duckdb import lake_connection

    files = ", ".join("'" + lake.uri(key).replace("'", "''") + "'" for key in batch.keys)
    with lake_connection(lake, extension_dir) as connection:
        connection.execute(
            f"copy (select {column_list(table)} from read_parquet([{files}])) to '{path}' (format csv, header false)"
        )
