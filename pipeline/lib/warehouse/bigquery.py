"""Google BigQuery through dagster_gcp: each batch converted to Parquet by DuckDB, sent with a load job, then
the table's rows replaced in one multi-statement transaction.

BigQuery cannot read S3, so DuckDB reads exactly the batch's listed files (local or s3://) with the
DuckDB warehouse's own reader and guards (duckdb.py) and streams them into a Parquet file with the
staging table's types. A load job sends the file (directly, or through the
staging bucket when one is set) into a scratch table with an explicit schema; one script then checks
the window, deletes the batch's rows, inserts the scratch rows and records the ledger, and commits.
Scratch tables are dropped afterwards, and expire by themselves if a process dies first.
"""

import datetime as dt
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

import duckdb
from dagster_gcp import BigQueryResource, GCSResource
from google.api_core.exceptions import BadRequest, NotFound
from google.cloud import bigquery

from pipeline.lib.identifiers import checked_identifier
from pipeline.lib.lake import DataLake
from pipeline.lib.warehouse import bigquery_sql as sql
from pipeline.lib.warehouse.base import FileLedger, JsonBatch, LoadError, ParquetBatch, TableSpec, Warehouse
from pipeline.lib.warehouse.duckdb import DuckDBWarehouse, lake_connection, literal
from pipeline.lib.warehouse.types import BIGQUERY_TYPES

# A scratch table outlives its load only when the process dies mid-load; BigQuery then drops it.
SCRATCH_LIFETIME = dt.timedelta(days=1)
STAGING_PREFIX = "bigquery-loads"  # where the staging bucket's Parquet files go, deleted after each load


def schema_fields(table: TableSpec) -> list[bigquery.SchemaField]:
    return [bigquery.SchemaField(c.name, BIGQUERY_TYPES[c.type]) for c in table.columns]


class BigQueryWarehouse(Warehouse):
    """A BigQuery project (BIGQUERY_PROJECT, BIGQUERY_LOCATION); each schema is a dataset of that name.

    With `staging_bucket` (BIGQUERY_STAGING_BUCKET), load files go through Cloud Storage instead of the
    load job's own upload: for networks that reach GCS better than the BigQuery upload API, or files
    beyond what one upload should carry.
    """

    bigquery: BigQueryResource
    gcs: GCSResource
    staging_bucket: str | None = None
    extension_dir: str  # DuckDB's extensions (httpfs) for reading an s3:// lake, as DUCKDB_EXTENSION_DIR

    @contextmanager
    def _client(self) -> Iterator[bigquery.Client]:
        with self.bigquery.get_client() as client:
            try:
                yield client
            finally:
                client.close()

    def _ensure_table(self, client: bigquery.Client, table: TableSpec) -> None:
        client.create_dataset(bigquery.Dataset(f"{client.project}.{table.schema}"), exists_ok=True)
        client.create_table(
            bigquery.Table(f"{client.project}.{table.schema}.{table.name}", schema=schema_fields(table)),
            exists_ok=True,
        )

    @staticmethod
    def parquet_load_file(
        lake: DataLake, table: TableSpec, batch: JsonBatch, folder: Path, extension_dir: str
    ) -> tuple[Path, int]:
        """The batch's rows as a Parquet file in `folder`, read by DuckDB's JSON reader with duckdb.py's
        guards and streamed, with no database file; the file and its rows.

        A row that breaks the file contract, or lies outside the batch's window, raises LoadError here.
        """
        parquet = folder / f"{uuid.uuid4().hex}.parquet"
        converter = DuckDBWarehouse(path=":memory:", extension_dir=extension_dir)
        return parquet, converter.write_parquet(lake, table, batch, parquet)

    def _send(self, client: bigquery.Client, parquet: Path, table: TableSpec, scratch: str) -> None:
        """A load job from the Parquet file into a new scratch table with the table's explicit schema."""
        scratch_ref = f"{client.project}.{table.schema}.{checked_identifier(scratch)}"
        scratch_table = bigquery.Table(scratch_ref, schema=schema_fields(table))
        scratch_table.expires = dt.datetime.now(dt.UTC) + SCRATCH_LIFETIME
        client.create_table(scratch_table)
        config = bigquery.LoadJobConfig(
            source_format=bigquery.SourceFormat.PARQUET,
            schema=schema_fields(table),
            write_disposition=bigquery.WriteDisposition.WRITE_APPEND,
        )
        if self.staging_bucket:
            blob = self.gcs.get_client().bucket(self.staging_bucket).blob(f"{STAGING_PREFIX}/{scratch}.parquet")
            blob.upload_from_filename(str(parquet))
            try:
                uri = f"gs://{self.staging_bucket}/{blob.name}"
                client.load_table_from_uri(uri, scratch_ref, job_config=config).result()
            finally:
                blob.delete()
        else:
            with parquet.open("rb") as stream:
                client.load_table_from_file(stream, scratch_ref, job_config=config).result()

    def replace_from_json(
        self, lake: DataLake, table: TableSpec, batches: Sequence[JsonBatch], ledger: FileLedger | None = None
    ) -> list[int]:
        run = uuid.uuid4().hex[:12]
        with self._client() as client, tempfile.TemporaryDirectory() as folder, ExitStack() as scratches:
            for spec in (table, ledger.table) if ledger else (table,):
                self._ensure_table(client, spec)
            loaded, counts = [], []
            for index, batch in enumerate(batches):
                scratch = None
                if batch.keys:
                    parquet, count = self.parquet_load_file(lake, table, batch, Path(folder), self.extension_dir)
                    if count:
                        scratch = f"{table.name}_load_{run}_{index}"
                        scratches.callback(client.delete_table, f"{table.schema}.{scratch}", not_found_ok=True)
                        self._send(client, parquet, table, scratch)
                    parquet.unlink()
                else:
                    count = 0
                loaded.append(sql.ScratchBatch(batch, scratch))
                counts.append(count)
            ledger_scratch = None
            if ledger is not None and ledger.files:
                ledger_scratch = f"{ledger.table.name}_load_{run}"
                scratches.callback(client.delete_table, f"{ledger.table.schema}.{ledger_scratch}", not_found_ok=True)
                self._send(client, _ledger_parquet(ledger, Path(folder)), ledger.table, ledger_scratch)
            try:
                client.query(sql.transaction_script(table, loaded, ledger, ledger_scratch)).result()
            except BadRequest as exc:
                failed = next((b for b in batches if b.window_column and sql.window_message(b) in str(exc)), None)
                if failed is None:
                    raise
                raise LoadError(failed, sql.window_message(failed)) from exc
        return counts

    def replace_from_parquet(self, lake: DataLake, table: TableSpec, batches: Sequence[ParquetBatch]) -> list[int]:
        """Each batch's lake Parquet files (local or s3://) gathered by DuckDB into one load file with the table's
        columns in order, sent with a load job to a scratch table; then one transaction replaces every batch's
        partition with its scratch rows."""
        run = uuid.uuid4().hex[:12]
        with self._client() as client, tempfile.TemporaryDirectory() as folder, ExitStack() as scratches:
            self._ensure_table(client, table)
            loaded, counts = [], []
            for index, batch in enumerate(batches):
                parquet = Path(folder) / f"{index}.parquet"
                files = ", ".join(literal(lake.uri(key)) for key in batch.keys)
                with lake_connection(lake, self.extension_dir) as connection:
                    [count] = connection.execute(
                        f"copy (select {', '.join(c.name for c in table.columns)} from read_parquet([{files}])) "
                        f"to {literal(str(parquet))} (format parquet)"
                    ).fetchone()
                scratch = None
                if count:
                    scratch = f"{table.name}_load_{run}_{index}"
                    scratches.callback(client.delete_table, f"{table.schema}.{scratch}", not_found_ok=True)
                    self._send(client, parquet, table, scratch)
                parquet.unlink()
                loaded.append((batch, scratch))
                counts.append(count)
            client.query(sql.partition_script(table, loaded)).result()
        return counts

    def query(self, sql_text: str) -> list[tuple]:
        with self._client() as client:
            return [tuple(row.values()) for row in client.query(sql_text).result()]

    def execute(self, sql_text: str) -> None:
        with self._client() as client:
            client.query(sql_text).result()

    def loaded_files(self, ledger: TableSpec) -> dict[str, str]:
        with self._client() as client:
            try:
                client.get_table(f"{client.project}.{ledger.schema}.{ledger.name}")
            except NotFound:
                return {}
            rows = client.query(f"select `key`, `version` from {sql.target(ledger.schema, ledger.name)}").result()
            return {row[0]: row[1] for row in rows}


def _ledger_parquet(ledger: FileLedger, folder: Path) -> Path:
    """The ledger's (key, version) rows as Parquet, for the same load path as the data."""
    path = folder / f"{uuid.uuid4().hex}.parquet"
    with duckdb.connect() as connection:
        connection.execute('create table ledger ("key" varchar, "version" varchar)')
        connection.executemany("insert into ledger values (?, ?)", [list(f) for f in ledger.files])
        connection.execute(f"copy ledger to '{path}' (format parquet)")
    return path
