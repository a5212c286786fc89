"""The warehouse interface: what the pipelines ask of any warehouse, and the shapes they ask it in.

A warehouse is a Dagster resource. The loads it offers are transactional: a batch of files replaces
exactly the rows it owns, and a failure leaves the table as it was.
"""

import datetime as dt
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

import dagster as dg

from pipeline.lib.identifiers import checked_identifier
from pipeline.lib.lake import DataLake
from pipeline.lib.tables import Column, TableSpec


@dataclass(frozen=True)
class JsonBatch:
    """JSON objects from some lake files that replace the table's rows in a window of one column.

    With a window, rows whose `window_column` lies in [low, high) are replaced, and every loaded row
    must lie in it. With no window, the batch replaces the whole table, unless `append` is set: then
    its rows are added (files never loaded before) and nothing is replaced.
    """

    keys: tuple[str, ...]
    window_column: str | None = None
    low: int | None = None
    high: int | None = None
    label: str = ""  # what the batch is, for messages and metadata (a day, "all songs")
    # A lake object mapping the JSON fields to the columns (Redshift's JSONPaths), for engines that
    # want one where field names are not the column names.
    jsonpaths_key: str | None = None
    append: bool = False
    # Fields every object of the batch gets, for what a file's name says and its content does not (the hour an
    # API answer belongs to, its key): (JSON field, value) pairs, the field being a column's `source`.
    added_fields: tuple[tuple[str, int | str], ...] = ()

    def added_columns(self, table: "TableSpec") -> list[tuple[Column, int | str]]:
        """The added fields as (column, value), each value checked against its column: text takes any value
        (as str), a number column only an int, and the window column only a value inside the window.
        Every warehouse writes these as literals, so nothing reaches SQL unchecked."""
        by_source = {c.source: c for c in table.columns}
        added = []
        for source, value in self.added_fields:
            if source not in by_source:
                raise ValueError(f"{table.qualified}: added field {source!r} is no column's source")
            column = by_source[source]
            if column.type == "text":
                value = str(value)
            elif not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"{column.name}: an added field of type {column.type} must be an int, not {value!r}")
            if column.name == self.window_column and not (self.low <= value < self.high):
                raise ValueError(f"{column.name}: added value {value} is outside [{self.low}, {self.high})")
            added.append((column, value))
        return added


@dataclass(frozen=True)
class ParquetBatch:
    """Parquet lake files (written by the pipeline, typed as the table) that replace the table's rows whose
    `column` equals `value`: a partition such as a month. The files hold the table's columns by name."""

    keys: tuple[str, ...]
    column: str
    value: dt.date
    label: str = ""

    def __post_init__(self):
        checked_identifier(self.column, "partition column")
        if not isinstance(self.value, dt.date):
            raise ValueError(f"partition value {self.value!r} is not a date")


@dataclass(frozen=True)
class FileLedger:
    """The lake files (key, version) a table's rows came from, kept in a table beside it.

    It is written in the load's own transaction, so the ledger and the rows never disagree: a load that
    fails records nothing, and a re-run loads exactly the files the ledger lacks.
    """

    table: TableSpec
    files: tuple[tuple[str, str], ...]
    replace: bool  # True: the ledger becomes exactly these files; False: these files are added to it


def ledger_table(table: TableSpec) -> TableSpec:
    return TableSpec(
        table.schema, f"{table.name}_files", (Column("key", "text", "key"), Column("version", "text", "version"))
    )


class LoadError(Exception):
    """A batch could not be loaded; the table was left as it was."""

    def __init__(self, batch: JsonBatch, message: str):
        super().__init__(message)
        self.batch = batch


class Warehouse(dg.ConfigurableResource):
    """Base of every warehouse resource. Subclasses own their connection settings."""

    @property
    def allows_concurrent_writers(self) -> bool:
        """False where one process at a time may write (an embedded database file)."""
        return True

    @abstractmethod
    def replace_from_json(
        self, lake: DataLake, table: TableSpec, batches: Sequence[JsonBatch], ledger: FileLedger | None = None
    ) -> list[int]:
        """Load every batch into the table, and record the ledger, in one transaction; the rows loaded per batch.

        Raises LoadError naming the batch that failed; nothing is changed then.
        """

    def replace_from_parquet(self, lake: DataLake, table: TableSpec, batches: Sequence[ParquetBatch]) -> list[int]:
        """Load every batch's Parquet files into the table, each replacing its partition, in one transaction;
        the rows loaded per batch. Raises LoadError naming the batch that failed; nothing is changed then."""
        raise NotImplementedError(
            f"{type(self).__name__} does not load Parquet yet: the NYC-taxi pipeline runs on DuckDB and Postgres "
            "(docs/nyc_taxi.md)"
        )

    @abstractmethod
    def query(self, sql: str) -> list[tuple]:
        """Rows of a read-only query."""

    @abstractmethod
    def execute(self, sql: str) -> None:
        """Run one statement and commit it (housekeeping: dropping leftover tables)."""

    def loaded_files(self, ledger: TableSpec) -> dict[str, str]:
        """key -> version of the ledger; empty when nothing was ever loaded."""
        exists = self.query(
            "select count(*) from information_schema.tables "
            f"where table_schema = '{checked_identifier(ledger.schema)}'"
            f" and table_name = '{checked_identifier(ledger.name)}'"
        )[0][0]
        if not exists:
            return {}
        return dict(self.query(f'select "key", "version" from "{ledger.schema}"."{ledger.name}"'))

    def row_count(self, table: str, where: str | None = None) -> int:
        schema, name = table.split(".")
        sql = f"select count(*) from {checked_identifier(schema)}.{checked_identifier(name)}"
        return self.query(sql + (f" where {where}" if where else ""))[0][0]
