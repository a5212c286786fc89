"""Snowflake: batches are loaded by Snowflake's own COPY INTO from an external stage on the lake's S3 root.

Connections come from dagster_snowflake's SnowflakeResource. Per load: the stage and JSON file format are
created if missing; each batch's exact files are copied (a FILES list, never a prefix) into a temporary
table of one VARIANT column with the file and row of each object; then one transaction checks every row
against the table's contract and the batch's window, deletes what the batches replace, inserts the typed
columns and records the ledger. Every statement comes from snowflake_sql.py.

Parquet batches (replace_from_parquet) are copied into typed scratch tables, columns matched by name, then
each batch's partition is replaced in one transaction.

The seam: `run_copy` is the only place the COPY INTO statement is executed. The test suite swaps it for
an insert of the same files' objects (read by the Python reader), so the rest runs for real on fakesnow.
"""

from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from dagster_snowflake import SnowflakeResource
from pydantic import Field
from snowflake.connector import errors as snowflake_errors

from pipeline.lib.lake import DataLake
from pipeline.lib.warehouse import snowflake_sql as sql
from pipeline.lib.warehouse.base import FileLedger, JsonBatch, LoadError, ParquetBatch, TableSpec, Warehouse
from pipeline.lib.warehouse.statements import partition_delete_sql


@dataclass(frozen=True)
class CopyJob:
    """One COPY: the statement, and what it reads and fills (for the test seam and messages)."""

    statement: str
    lake: DataLake
    table: TableSpec
    scratch: str
    keys: tuple[str, ...]  # exactly the files of the FILES list (lake keys, relative to the stage URL)


class SnowflakeWarehouse(Warehouse):
    """A Snowflake database reached through `snowflake` (SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER, SNOWFLAKE_PASSWORD or
    SNOWFLAKE_PRIVATE_KEY_PATH, SNOWFLAKE_ROLE, SNOWFLAKE_WAREHOUSE, SNOWFLAKE_DATABASE).

    The lake's stage reaches S3 through `storage_integration` (production) or, failing that, AWS keys
    stored in the stage (SNOWFLAKE_STAGE_AWS_KEY_ID / _SECRET_KEY: the lesser option, see docs/snowflake.md).
    """

    snowflake: SnowflakeResource
    storage_integration: str | None = None
    stage_aws_key_id: str | None = Field(default=None, repr=False)
    stage_aws_secret_key: str | None = Field(default=None, repr=False)

    def stage_auth(self) -> sql.StageAuth:
        if self.storage_integration:
            return sql.StageAuth(storage_integration=self.storage_integration)
        if self.stage_aws_key_id or self.stage_aws_secret_key:
            return sql.StageAuth(access_key_id=self.stage_aws_key_id, secret_access_key=self.stage_aws_secret_key)
        raise ValueError(
            "Snowflake reads the lake through a stage: set SNOWFLAKE_STORAGE_INTEGRATION (or "
            "SNOWFLAKE_STAGE_AWS_KEY_ID and SNOWFLAKE_STAGE_AWS_SECRET_KEY)"
        )

    @contextmanager
    def connect(self):
        """A connection with nothing committed unless asked; rolled back and closed on a failure."""
        with self.snowflake.get_connection() as connection:
            try:
                yield connection
            except BaseException:
                _rollback_quietly(connection)
                connection.close()
                raise

    def query(self, sql_text: str) -> list[tuple]:
        with self.connect() as connection:
            cursor = connection.cursor()
            cursor.execute(sql_text)
            return cursor.fetchall()

    def execute(self, sql_text: str) -> None:
        with self.connect() as connection:
            connection.cursor().execute(sql_text)

    def loaded_files(self, ledger: TableSpec) -> dict[str, str]:
        if not self.query(sql.table_exists_sql(ledger))[0][0]:
            return {}
        return dict(self.query(f"select {sql.column_list(ledger)} from {sql.target(ledger)}"))

    def run_copy(self, cursor, job: CopyJob) -> None:
        """The seam: send the COPY. Tests replace this one method; see the module docstring."""
        cursor.execute(job.statement)

    def _prepare(self, cursor, lake: DataLake, tables: Sequence[TableSpec]) -> None:
        """The tables, the lake's stage and its JSON format, if missing. DDL commits any open transaction in
        Snowflake: it, and the COPYs, all come before a load's `begin`."""
        lake_uri = lake.uri("")
        if not lake_uri.startswith("s3://"):
            raise ValueError(f"Snowflake loads through an S3 stage: the lake must be s3://..., not {lake_uri}")
        auth = self.stage_auth()
        for spec in tables:
            for statement in sql.create_table_sql(spec):
                cursor.execute(statement)
        cursor.execute(sql.create_file_format_sql(tables[0].schema))
        cursor.execute(sql.create_stage_sql(tables[0].schema, lake_uri, auth).sql)
        cursor.execute(sql.use_schema_sql(tables[0].schema))

    def replace_from_parquet(self, lake: DataLake, table: TableSpec, batches: Sequence[ParquetBatch]) -> list[int]:
        """Each batch's Parquet files COPYed (columns by name) into a typed scratch table; then, in one
        transaction, each batch's partition deleted and its scratch rows inserted."""
        with self.connect() as connection:
            cursor = connection.cursor()
            self._prepare(cursor, lake, [table])
            scratches = [f"{table.name}_load_{i}" for i in range(len(batches))]
            for batch, scratch in zip(batches, scratches, strict=True):
                cursor.execute(sql.create_typed_scratch_sql(table, scratch))
                for start in range(0, len(batch.keys), sql.MAX_FILES_PER_COPY):
                    chunk = tuple(batch.keys[start : start + sql.MAX_FILES_PER_COPY])
                    statement = sql.copy_parquet_sql(scratch, table.schema, lake.uri(""), chunk)
                    try:
                        self.run_copy(cursor, CopyJob(statement, lake, table, scratch, chunk))
                    except snowflake_errors.ProgrammingError as exc:
                        files = ", ".join(lake.uri(k) for k in chunk)
                        raise LoadError(batch, f"{batch.label}: Snowflake COPY failed in {files}: {exc.msg}") from exc
            cursor.execute("begin")
            counts = []
            for batch, scratch in zip(batches, scratches, strict=True):
                cursor.execute(partition_delete_sql(table, batch, sql.quote))
                cursor.execute(sql.count_sql(scratch))
                counts.append(cursor.fetchone()[0])
                cursor.execute(sql.insert_typed_scratch_sql(table, scratch))
            cursor.execute("commit")
            for scratch in scratches:
                cursor.execute(sql.drop_scratch_sql(scratch))
        return counts

    def replace_from_json(
        self, lake: DataLake, table: TableSpec, batches: Sequence[JsonBatch], ledger: FileLedger | None = None
    ) -> list[int]:
        with self.connect() as connection:
            cursor = connection.cursor()
            self._prepare(cursor, lake, [table, ledger.table] if ledger else [table])
            scratches = [f"{table.name}_load_{i}" for i in range(len(batches))]
            for batch, scratch in zip(batches, scratches, strict=True):
                self._copy_batch(cursor, lake, table, batch, scratch)
            cursor.execute("begin")
            counts = [self._replace_batch(cursor, lake, table, b, s) for b, s in zip(batches, scratches, strict=True)]
            self._record_ledger(cursor, ledger)
            cursor.execute("commit")
            for scratch in scratches:
                cursor.execute(sql.drop_scratch_sql(scratch))
        return counts

    def _copy_batch(self, cursor, lake: DataLake, table: TableSpec, batch: JsonBatch, scratch: str) -> None:
        cursor.execute(sql.create_scratch_sql(scratch))
        keys = list(batch.keys)
        for start in range(0, len(keys), sql.MAX_FILES_PER_COPY):
            chunk = tuple(keys[start : start + sql.MAX_FILES_PER_COPY])
            statement = sql.copy_into_scratch_sql(scratch, table.schema, lake.uri(""), chunk)
            try:
                self.run_copy(cursor, CopyJob(statement, lake, table, scratch, chunk))
            except snowflake_errors.ProgrammingError as exc:
                # Snowflake names the file relative to the stage; the message names it by its URI, which
                # is how load_errors.py finds the file to read again.
                named = [k for k in chunk if k in str(exc.msg)] or list(chunk[:1])
                files = ", ".join(lake.uri(k) for k in named)
                raise LoadError(batch, f"{batch.label}: Snowflake COPY failed in {files}: {exc.msg}") from exc

    def _replace_batch(self, cursor, lake: DataLake, table: TableSpec, batch: JsonBatch, scratch: str) -> int:
        cursor.execute(sql.first_break_sql(scratch, table, batch))
        broken = cursor.fetchone()
        if broken is not None:
            file, row, field, problem = broken
            cursor.execute("rollback")
            raise LoadError(batch, f"{batch.label}: {lake.uri(file)}, line {row}, field {field!r}: {problem}")
        if not batch.append:
            cursor.execute(sql.delete_sql(table, batch.window_column, batch.low, batch.high))
        cursor.execute(sql.count_sql(scratch))
        count = cursor.fetchone()[0]
        try:
            cursor.execute(sql.insert_from_scratch_sql(table, scratch, batch))
        except snowflake_errors.ProgrammingError as exc:
            # A value the checks let through and the cast refused: say which batch, the files say the rest.
            cursor.execute("rollback")
            files = ", ".join(lake.uri(k) for k in batch.keys)
            raise LoadError(batch, f"{batch.label}: Snowflake refused a value in {files}: {exc.msg}") from exc
        return count

    @staticmethod
    def _record_ledger(cursor, ledger: FileLedger | None) -> None:
        if ledger is None:
            return
        before, insert = sql.ledger_sql(ledger)
        for statement in before:
            cursor.execute(statement)
        if ledger.files:
            cursor.executemany(insert, list(ledger.files))


def _rollback_quietly(connection) -> None:
    """Roll back after a failure; a connection already lost has nothing to roll back."""
    try:
        connection.rollback()
    except snowflake_errors.Error:
        pass
