"""SQL every warehouse writes the same way: table DDL from a TableSpec, and deleting the rows a batch replaces.

Identifiers pass through quote() (validated); window bounds are coerced to integers.
"""

from collections.abc import Callable, Mapping

from pipeline.lib.identifiers import quote
from pipeline.lib.warehouse.base import TableSpec


def target(table: TableSpec) -> str:
    return f"{quote(table.schema)}.{quote(table.name)}"


def column_list(table: TableSpec) -> str:
    return ", ".join(quote(c.name) for c in table.columns)


def window(low: int, high: int) -> tuple[int, int]:
    low, high = int(low), int(high)
    if low >= high:
        raise ValueError(f"empty window [{low}, {high}): low must be below high")
    return low, high


def create_table_sql(table: TableSpec, types: Mapping[str, str]) -> list[str]:
    """The schema and the table, if missing; `types` maps the logical column types to the warehouse's."""
    columns = ", ".join(f"{quote(c.name)} {types[c.type]}" for c in table.columns)
    return [
        f"create schema if not exists {quote(table.schema)}",
        f"create table if not exists {target(table)} ({columns})",
    ]


def delete_sql(
    table: TableSpec, window_column: str | None = None, low: int | None = None, high: int | None = None
) -> str:
    """Delete the rows a batch replaces: those in the window, or all of them when there is none.

    DELETE, not TRUNCATE: Redshift's TRUNCATE commits the open transaction, which would make a failed
    load leave the table empty.
    """
    if window_column is None:
        if low is not None or high is not None:
            raise ValueError("a window needs a window column")
        return f"delete from {target(table)}"
    if low is None or high is None:
        raise ValueError(f"window on {window_column!r} needs both low and high")
    if window_column not in {c.name for c in table.columns}:
        raise ValueError(f"window column {window_column!r} is not a column of {table.qualified}")
    low, high = window(low, high)
    c = quote(window_column)
    return f"delete from {target(table)} where {c} >= {low} and {c} < {high}"


def ledger_statements(ledger, placeholder: str) -> tuple[list[str], str]:
    """(statements before the insert, the parameterized insert) that record a FileLedger.

    `placeholder` is the driver's parameter marker ("?" for DuckDB, "%s" for psycopg2).
    """
    before = [f"delete from {target(ledger.table)}"] if ledger.replace else []
    if not ledger.replace and ledger.files:
        keys = ", ".join("'" + key.replace("'", "''") + "'" for key, _ in ledger.files)
        before.append(f'delete from {target(ledger.table)} where "key" in ({keys})')
    return (
        before,
        f"insert into {target(ledger.table)} ({column_list(ledger.table)}) values ({placeholder}, {placeholder})",
    )


def partition_delete_sql(table: TableSpec, batch, quoted: Callable[[str], str] = quote) -> str:
    """Delete the rows a ParquetBatch replaces: those whose partition column holds its date. `quoted` is the
    warehouse's identifier quoting (Snowflake's upper-cases, BigQuery's uses backticks)."""
    if batch.column not in {c.name for c in table.columns}:
        raise ValueError(f"partition column {batch.column!r} is not a column of {table.qualified}")
    where = f"{quoted(batch.column)} = date '{batch.value.isoformat()}'"
    return f"delete from {quoted(table.schema)}.{quoted(table.name)} where {where}"
