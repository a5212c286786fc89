"""A warehouse table as the loaders declare it: its schema, name and typed columns (each read from a JSON field or
a Parquet column). Plain values, shared by the warehouses and the readers that check a file against a table."""

from dataclasses import dataclass

from pipeline.lib.identifiers import checked_identifier

LOGICAL_TYPES = ("text", "integer", "bigint", "double", "timestamp", "date")  # the last two: Parquet loads only


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # one of LOGICAL_TYPES; each warehouse maps it to its own type
    source: str  # the JSON field the column is read from (a Parquet load reads the column of its name)

    def __post_init__(self):
        checked_identifier(self.name, "column name")
        if self.type not in LOGICAL_TYPES:
            raise ValueError(f"column {self.name}: type {self.type!r} is not one of {LOGICAL_TYPES}")


@dataclass(frozen=True)
class TableSpec:
    schema: str
    name: str
    columns: tuple[Column, ...]

    def __post_init__(self):
        checked_identifier(self.schema, "schema name")
        checked_identifier(self.name, "table name")

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)
