"""Every statement the BigQuery warehouse sends, built here as pure functions: BigQuery's own dialect.

Identifiers are validated and quoted with backticks (double quotes are string literals in BigQuery);
window bounds are coerced to integers; messages pass through literal().
"""

from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.lib.identifiers import checked_identifier
from pipeline.lib.warehouse.base import FileLedger, JsonBatch, ParquetBatch, TableSpec
from pipeline.lib.warehouse.statements import partition_delete_sql, window


def quote(name: str) -> str:
    return "`" + checked_identifier(name) + "`"


def target(schema: str, name: str) -> str:
    """`dataset`.`table` in the client's default project: a schema is a dataset."""
    return f"{quote(schema)}.{quote(name)}"


def literal(text: str) -> str:
    """A BigQuery string literal: backslashes and quotes escaped, line breaks as escapes."""
    escaped = text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\r", "\\r")
    return "'" + escaped + "'"


def column_list(table: TableSpec) -> str:
    return ", ".join(quote(c.name) for c in table.columns)


@dataclass(frozen=True)
class ScratchBatch:
    """A batch and the scratch table its rows were loaded into (None when it had no rows)."""

    batch: JsonBatch
    scratch: str | None


def window_message(batch: JsonBatch) -> str:
    """What the window check raises; the loader finds the failed batch by it."""
    return f"{batch.label}: rows with {batch.window_column} outside [{int(batch.low)}, {int(batch.high)})"


def window_check_sql(table: TableSpec, scratch: str, batch: JsonBatch) -> str:
    """Fails the script with window_message unless every scratch row lies in the batch's window."""
    low, high = window(batch.low, batch.high)
    c = quote(batch.window_column)
    outside = f"select count(*) from {target(table.schema, scratch)} where {c} is null or {c} < {low} or {c} >= {high}"
    return f"select if(({outside}) = 0, 0, error({literal(window_message(batch))}))"


def delete_sql(table: TableSpec, batch: JsonBatch) -> str:
    """The rows the batch replaces: its window, or every row (BigQuery's DELETE needs a WHERE)."""
    if batch.window_column is None:
        return f"delete from {target(table.schema, table.name)} where true"
    if batch.window_column not in {c.name for c in table.columns}:
        raise ValueError(f"window column {batch.window_column!r} is not a column of {table.qualified}")
    low, high = window(batch.low, batch.high)
    c = quote(batch.window_column)
    return f"delete from {target(table.schema, table.name)} where {c} >= {low} and {c} < {high}"


def insert_sql(table: TableSpec, scratch: str) -> str:
    columns = column_list(table)
    return (
        f"insert into {target(table.schema, table.name)} ({columns}) "
        f"select {columns} from {target(table.schema, scratch)}"
    )


def ledger_sql(ledger: FileLedger, scratch: str | None) -> list[str]:
    """Record the ledger from its scratch table: replace it whole, or replace just these files' entries."""
    ledger_target = target(ledger.table.schema, ledger.table.name)
    statements = []
    if ledger.replace:
        statements.append(f"delete from {ledger_target} where true")
    elif scratch is not None:
        keys = f"select `key` from {target(ledger.table.schema, scratch)}"
        statements.append(f"delete from {ledger_target} where `key` in ({keys})")
    if scratch is not None:
        statements.append(insert_sql(ledger.table, scratch))
    return statements


def transaction_script(
    table: TableSpec, batches: Sequence[ScratchBatch], ledger: FileLedger | None, ledger_scratch: str | None
) -> str:
    """One multi-statement transaction: per batch the window check, the delete and the insert; then the ledger."""
    statements = ["begin transaction"]
    for item in batches:
        if item.batch.window_column is not None and item.scratch is not None:
            statements.append(window_check_sql(table, item.scratch, item.batch))
        if not item.batch.append:
            statements.append(delete_sql(table, item.batch))
        if item.scratch is not None:
            statements.append(insert_sql(table, item.scratch))
    if ledger is not None:
        statements += ledger_sql(ledger, ledger_scratch)
    statements.append("commit transaction")
    return ";\n".join(statements) + ";"


def partition_script(table: TableSpec, batches: Sequence[tuple[ParquetBatch, str | None]]) -> str:
    """One multi-statement transaction replacing each ParquetBatch's partition by its scratch table's rows."""
    statements = ["begin transaction"]
    for batch, scratch in batches:
        statements.append(partition_delete_sql(table, batch, quote))
        if scratch is not None:
            statements.append(insert_sql(table, scratch))
    statements.append("commit transaction")
    return ";\n".join(statements) + ";"
