"""Amazon Redshift: batches are loaded by Redshift's own COPY from S3, as the original pipeline did.

Per batch, in one transaction: COPY into a session-temporary scratch table, check every row lies in the
batch's window, delete the window from the target, insert the scratch rows. A failed COPY is explained
from Redshift's load-error table. Every statement comes from redshift_sql.py.

Parquet batches (replace_from_parquet) go the same way with `FORMAT AS PARQUET`: COPY into a scratch table, the
partition's rows deleted, the scratch rows inserted.

COPY reads exactly the batch's objects, through a manifest written under REDSHIFT_MANIFEST_PREFIX for the
load and deleted after it: never a key prefix, which would also take a stray `x.json.bak` or a file that
landed after the run listed the lake (loaded, and missing from the ledger).

The seam: `run_copy` is the only place the COPY-from-S3 statement is executed. The test suite swaps it
for a COPY FROM STDIN of the same objects, so the rest of this path runs for real on a Postgres server.
"""

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import boto3
import psycopg2

from pipeline.lib.lake import DataLake
from pipeline.lib.warehouse import redshift_sql as sql
from pipeline.lib.warehouse.base import FileLedger, JsonBatch, LoadError, ParquetBatch, TableSpec
from pipeline.lib.warehouse.server import ServerWarehouse, record_ledger, rollback_quietly
from pipeline.lib.warehouse.statements import partition_delete_sql


@dataclass(frozen=True)
class CopyJob:
    """One COPY: the statement to send, and what it reads and fills (for the test seam and messages)."""

    statement: sql.Statement
    lake: DataLake
    table: TableSpec  # the columns COPY fills: the batch's added fields are set after it
    scratch: str
    batch: JsonBatch | ParquetBatch


def json_format(lake: DataLake, table: TableSpec, batch: JsonBatch) -> str:
    if batch.jsonpaths_key is not None:
        return lake.uri(batch.jsonpaths_key)
    if all(c.name == c.source for c in table.columns):
        return "auto"  # COPY matches JSON keys to column names
    raise ValueError(f"{table.qualified}: field names differ from column names and the batch names no JSONPaths file")


class RedshiftWarehouse(ServerWarehouse):
    """A Redshift cluster or workgroup (REDSHIFT_HOST, REDSHIFT_PORT, REDSHIFT_USER, REDSHIFT_PASSWORD,
    REDSHIFT_DATABASE).

    COPY reaches S3 through `iam_role` (a role attached to the cluster) or, failing that, temporary keys
    from assuming `copy_role_arn` with STS.
    """

    sslmode: str = "require"
    iam_role: str | None = None
    copy_role_arn: str | None = None
    s3_region: str | None = None  # the lake bucket's region, when it is not the cluster's
    # Where a load's COPY manifest is written (s3://bucket/prefix): writable by the pipeline, readable by COPY's
    # role. Not the lake's prefix: the lake may be read-only (the Udacity bucket is).
    manifest_prefix: str | None = None

    def copy_auth(self) -> sql.CopyAuth:
        if self.iam_role:
            return sql.CopyAuth(iam_role=self.iam_role)
        if self.copy_role_arn:
            return sql.CopyAuth.from_assumed_role(boto3.client("sts"), self.copy_role_arn)
        raise ValueError(
            "Redshift COPY needs REDSHIFT_IAM_ROLE (a role attached to the cluster) or REDSHIFT_COPY_ROLE_ARN"
        )

    def run_copy(self, cursor, job: CopyJob) -> None:
        """The seam: send the COPY. Tests replace this one method; see the module docstring."""
        cursor.execute(job.statement.sql)

    def replace_from_json(
        self, lake: DataLake, table: TableSpec, batches: Sequence[JsonBatch], ledger: FileLedger | None = None
    ) -> list[int]:
        _require_s3(lake)
        auth = self.copy_auth()
        scratch = f"{table.name}_load"
        with self.connect() as connection:
            with connection.cursor() as cursor:
                for spec in (table, ledger.table) if ledger else (table,):
                    for statement in sql.create_table_sql(spec):
                        cursor.execute(statement)
            connection.commit()
            counts = [self._load_batch(connection, lake, table, batch, scratch, auth) for batch in batches]
            record_ledger(connection, ledger)
            connection.commit()
        return counts

    def replace_from_parquet(self, lake: DataLake, table: TableSpec, batches: Sequence[ParquetBatch]) -> list[int]:
        """Each batch's Parquet files by one COPY of a manifest (the exact files, with their sizes) into a scratch
        table, then the partition's rows replaced by the scratch rows; all batches in one transaction."""
        _require_s3(lake)
        auth, scratch, counts = self.copy_auth(), f"{table.name}_load", []
        with self.connect() as connection:
            with connection.cursor() as cursor:
                for statement in sql.create_table_sql(table):
                    cursor.execute(statement)
            connection.commit()
            for batch in batches:
                with connection.cursor() as cursor:
                    _fresh_scratch(cursor, table, scratch)
                    sizes = [_size(lake, key) for key in batch.keys]
                    with self._manifest([lake.uri(k) for k in batch.keys], sizes) as manifest:
                        job = CopyJob(sql.copy_parquet_sql(scratch, manifest, auth), lake, table, scratch, batch)
                        try:
                            self.run_copy(cursor, job)
                        except psycopg2.Error as exc:
                            rollback_quietly(connection)
                            raise LoadError(batch, f"{batch.label}: Redshift COPY failed: {_first_line(exc)}") from exc
                    counts.append(_replace_from_scratch(cursor, table, scratch, partition_delete_sql(table, batch)))
            connection.commit()
        return counts

    def _manifest_uri(self) -> str:
        if not self.manifest_prefix:
            raise ValueError(
                "Redshift COPY reads exactly the listed files through a manifest: set REDSHIFT_MANIFEST_PREFIX "
                "to an s3://bucket/prefix the pipeline may write and COPY's role may read"
            )
        return sql.s3_uri(f"{self.manifest_prefix.rstrip('/')}/{uuid.uuid4().hex}.manifest")

    @contextmanager
    def _manifest(self, uris: list[str], sizes: list[int] | None = None) -> Iterator[str]:
        """The manifest of these objects, written to S3 for one COPY and deleted after it, whatever happened."""
        uri = self._manifest_uri()
        bucket, key = uri.removeprefix("s3://").split("/", 1)
        s3 = boto3.client("s3")
        s3.put_object(Bucket=bucket, Key=key, Body=sql.manifest_json(uris, sizes).encode())
        try:
            yield uri
        finally:
            s3.delete_object(Bucket=bucket, Key=key)

    def _load_batch(self, connection, lake, table, batch, scratch, auth) -> int:
        with connection.cursor() as cursor:
            _fresh_scratch(cursor, table, scratch)
            if batch.keys:
                with self._manifest([lake.uri(k) for k in batch.keys]) as manifest:
                    read = sql.read_columns(table, batch.added_fields)
                    statement = sql.copy_json_sql(
                        read, scratch, manifest, json_format(lake, read, batch), auth, self.s3_region, manifest=True
                    )
                    try:
                        self.run_copy(cursor, CopyJob(statement, lake, read, scratch, batch))
                    except psycopg2.Error as exc:
                        rollback_quietly(connection)
                        details = self._load_errors(connection)
                        if details:
                            raise LoadError(batch, f"{batch.label}: Redshift COPY failed: {details}") from exc
                        raise
            if batch.added_fields:
                cursor.execute(sql.set_added_fields_sql(table, scratch, batch))
            if batch.window_column is not None:
                cursor.execute(sql.window_violations_sql(scratch, batch.window_column, batch.low, batch.high))
                outside = cursor.fetchone()[0]
                if outside:
                    rollback_quietly(connection)
                    raise LoadError(
                        batch,
                        f"{batch.label}: {outside} row(s) with {batch.window_column} outside "
                        f"[{batch.low}, {batch.high})",
                    )
            delete = None if batch.append else sql.delete_sql(table, batch.window_column, batch.low, batch.high)
            return _replace_from_scratch(cursor, table, scratch, delete)

    @staticmethod
    def _load_errors(connection) -> str:
        """Why the session's last COPY failed, from sys_load_error_detail (or stl_load_errors on older clusters)."""
        for query in (sql.LOAD_ERRORS_SQL, sql.LEGACY_LOAD_ERRORS_SQL):
            try:
                with connection.cursor() as cursor:
                    cursor.execute(query)
                    rows = cursor.fetchall()
                connection.rollback()
                if rows:
                    return sql.describe_load_errors(rows)
            except psycopg2.Error:
                rollback_quietly(connection)
        return ""


def _fresh_scratch(cursor, table: TableSpec, scratch: str) -> None:
    """An empty scratch table of the table's columns, for one batch's COPY."""
    cursor.execute(sql.drop_scratch_sql(scratch))
    cursor.execute(sql.create_scratch_sql(table, scratch))


def _replace_from_scratch(cursor, table: TableSpec, scratch: str, delete: str | None) -> int:
    """The batch's old rows deleted (`delete`, None when it only appends), the scratch rows inserted in their
    place and the scratch dropped, in the load's transaction; how many rows came."""
    if delete is not None:
        cursor.execute(delete)
    cursor.execute(sql.count_sql(scratch))
    count = cursor.fetchone()[0]
    cursor.execute(sql.insert_from_scratch_sql(table, scratch))
    cursor.execute(sql.drop_scratch_sql(scratch))
    return count


def _require_s3(lake: DataLake) -> None:
    if not lake.uri("").startswith("s3://"):
        raise ValueError(f"Redshift loads with COPY from S3: the lake must be s3://..., not {lake.uri('')}")


def _size(lake: DataLake, key: str) -> int:
    found = lake.stat(key)
    if found is None:
        raise FileNotFoundError(f"no such object in the lake: {lake.uri(key)}")
    return found.size


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
