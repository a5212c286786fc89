"""The local engine's reading of a Parquet month (TLC's format since 2022), in DuckDB: the file's columns checked
against the contract by name and type, then every value typed to the contract, as the CSV's are.

Columns are taken by name, in any order; columns the contract does not read (congestion_surcharge, or
cbd_congestion_fee of later years) are left out, never shifted into another's place. A contract column that is
missing, or of a type that cannot hold the contract's (text where a number is expected), fails the month naming
the file and the column. TLC's files type integer columns as doubles (passenger_count, RatecodeID, payment_type,
trip_type) or bigints, and ehail_fee as all-null: a number is read as an integer when it is integral and fits,
else the month fails naming the file, the row (its 1-based position in the file) and the column; so does a NaN or
an infinity in a number, or a NUL in a text, as in a CSV month. A timestamp with a time zone is read at UTC, as
Spark's session reads it.
"""

import datetime as dt
from pathlib import Path

import duckdb

from pipeline.defs.nyc_taxi.layout import NOT_FINITE, NUL_IN_TEXT, STAGED_FROM_CSV
from pipeline.lib.lake import DataLake
from pipeline.lib.warehouse.duckdb import DUCKDB_TYPES, lake_connection, literal

INTEGERS = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"}
NUMBERS = INTEGERS | {"FLOAT", "DOUBLE", "DECIMAL"}
TIMESTAMPS = {"TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S", "TIMESTAMP WITH TIME ZONE"}
# The file's types each logical type of the contract is read from (an all-null column reads as INTEGER).
ACCEPTED = {"integer": NUMBERS, "double": NUMBERS, "text": {"VARCHAR"}, "timestamp": TIMESTAMPS}


class MonthRejected(Exception):
    """The Parquet month breaks the contract; the message names the file, and the row or column (duckdb_engine.py
    reports it as its own)."""


def stage_parquet_month(lake: DataLake, key: str, month: dt.date, parquet: Path, extension_dir: str) -> int:
    """The month's trips typed, with source_file, source_row and month, written to `parquet`; the trips."""
    uri = lake.uri(key)
    with lake_connection(lake, extension_dir) as connection:
        try:
            found = connection.execute(f"describe select * from read_parquet({literal(uri)})").fetchall()
        except duckdb.Error as exc:
            first = str(exc).strip().splitlines()[0]
            raise MonthRejected(f"{month:%Y-%m}: {uri}: not a Parquet file that can be read: {first}") from exc
        types = {name: kind for name, kind, *_ in found}
        typed = [_typed(column, logical, types, uri, month) for column, _, logical in STAGED_FROM_CSV]
        names = [name for _, name, _ in STAGED_FROM_CSV]
        sql = (
            f"copy (select {', '.join(f'{value} as {name}' for value, name in zip(typed, names, strict=True))}, "
            f"{literal(uri)} as source_file, file_row_number + 1 as source_row, "
            f"date '{month.isoformat()}' as month "
            f"from read_parquet({literal(uri)}, file_row_number = true) order by file_row_number) "
            f"to {literal(str(parquet))} (format parquet)"
        )
        try:
            [rows] = connection.execute(sql).fetchone()
        except duckdb.InvalidInputException as exc:  # a value's error(), which names file, row and column
            first = str(exc).strip().splitlines()[0].removeprefix("Invalid Input Error: ")
            raise MonthRejected(f"{month:%Y-%m}: {first}") from exc
    return rows


def _typed(column: str, logical: str, types: dict[str, str], uri: str, month: dt.date) -> str:
    """The column's values as the contract's type, or an error naming the row; MonthRejected naming the column
    when the file has none of that name, or one of a type that cannot hold it."""
    if column not in types:
        raise MonthRejected(f"{month:%Y-%m}: {uri}: no column {column} (a Parquet month's columns are read by name)")
    kind = types[column]
    if kind.split("(")[0] not in ACCEPTED[logical]:
        raise MonthRejected(f"{month:%Y-%m}: {uri}, column {column}: a {kind.lower()} column is not read as {logical}")
    value = f'"{column}"'
    at_row = f"{literal(uri + ', row ')} || (file_row_number + 1) || {literal(f', column {column}: ')}"
    if logical == "text":  # as a CSV's text: no warehouse's text type holds a NUL
        return f"case when contains({value}, chr(0)) then error({at_row} || {literal(NUL_IN_TEXT)}) else {value} end"
    if logical == "timestamp":
        return f"timezone('UTC', {value})" if kind == "TIMESTAMP WITH TIME ZONE" else f"cast({value} as timestamp)"
    if logical == "double":  # as a CSV's number: a NaN or an infinity is no amount (named as Spark names them)
        number = f"cast({value} as double)"
        named = f"case when isnan({number}) then 'NaN' when {number} > 0 then 'Infinity' else '-Infinity' end"
        problem = f"error({at_row} || {literal(NOT_FINITE)} || {named})"
        return f"case when isfinite({number}) is false then {problem} else {number} end"
    problem = (
        f"{literal(uri + ', row ')} || (file_row_number + 1) || {literal(f', column {column}: cannot read ')} || "
        f"cast({value} as varchar) || {literal(' as integer')}"
    )
    # A double is an integer only when integral (a cast would round 1.5 to 2); NaN and infinities never are.
    integral = value if kind.split("(")[0] in INTEGERS else f"case when {value} = trunc({value}) then {value} end"
    cast = f"try_cast({integral} as {DUCKDB_TYPES['integer']})"
    return f"coalesce({cast}, case when {value} is null then null else error({problem}) end)"
