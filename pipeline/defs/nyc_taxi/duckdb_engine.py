"""The local engine: a month's file to typed parquet, and the parquet to the fare-by-zone aggregate, in DuckDB.
A month's CSV may be gzip-compressed (.csv.gz, read as its .csv); a Parquet month is read by parquet_month.py.

Staging takes Arrow's fast path (arrow_csv.py) for a clean file. Any other file is staged the careful way:
DuckDB reads every column as text and types each value by a guarded cast, so a value that is not empty and
does not parse fails the month naming the file, its line and the column; a row with the wrong number of
columns fails with its line and the count (DuckDB's reader for most, a guard here for the trailing empty fields
its reader drops); a header repeated inside the file (TLC files concatenated) is skipped and counted. Empty
fields are NULL (the TLC writes nulls as empty strings). A NUL in text and a NaN or infinity in a number fail the
month naming the column; bytes that are not UTF-8, naming the line and byte (docs/guarantees.md: as Sparkify).
The first line must be the green-taxi header (a UTF-8 byte-order mark before it is skipped). A month of no trip
is refused unless the run clears it on purpose.
Nothing is written unless the whole month converts: a temporary file becomes the month's one parquet file in
one put; files another engine left in the month's folder are then removed.
"""

import datetime as dt
import tempfile
from pathlib import Path

import duckdb

from pipeline.defs.nyc_taxi.lake_files import layer_files, month_file, open_month_file
from pipeline.defs.nyc_taxi.layout import (
    BOM,
    CLEAR_EMPTY_MONTHS_TAG,
    CSV_COLUMNS,
    FARE_GROUPS,
    HEADER,
    MONTH_FILES,
    NOT_FINITE,
    NUL_IN_TEXT,
    STAGED_FROM_CSV,
    TRIP_COLUMNS,
    fare_by_zone_folder,
    is_parquet_month,
    month_key,
    trips_folder,
)
from pipeline.lib.lake import DataLake
from pipeline.lib.text_lines import find_invalid_utf8
from pipeline.lib.warehouse.duckdb import DUCKDB_TYPES, lake_connection, literal

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
PART = "part-00000.parquet"  # the one file of a month's folder written here
QUOTED_FIELD = '"(?:[^"]|"")*"'  # a quoted CSV field, doubled quotes inside (as the Spark engine's)


class MonthRejected(Exception):
    """A month file breaks the CSV contract; the message names the file, line and column."""


def read_layer_sql(lake: DataLake, folder: str) -> str:
    """DuckDB's read_parquet of the files of a month's layer, whichever engine wrote them."""
    return "read_parquet([" + ", ".join(literal(lake.uri(key)) for key in layer_files(lake, folder)) + "])"


def _typed(csv_column: str, logical: str, uri: str) -> str:
    """The column's value typed, NULL when empty, or an error naming file, line and column."""
    value = f'"{csv_column}"'

    def problem(text: str, found: str = "") -> str:
        where = f"{literal(uri + ', line ')} || source_row || {literal(f', column {csv_column}: {text}')}"
        return f"error({where}{found})"

    if logical == "text":
        return f"case when contains({value}, chr(0)) then {problem(NUL_IN_TEXT)} else {value} end"
    if logical == "timestamp":
        parsed = f"try_strptime({value}, '{TIMESTAMP_FORMAT}')"
    else:
        parsed = f"try_cast({value} as {DUCKDB_TYPES[logical]})"
    if logical == "double":  # NaN and Infinity parse as doubles, but are no amount (as Sparkify refuses them)
        parsed = f"case when isfinite({parsed}) is false then {problem(NOT_FINITE, f' || {value}')} else {parsed} end"
    unreadable = problem("cannot read ", f" || {value} || {literal(f' as {logical}')}")
    return f"coalesce({parsed}, case when {value} is null then null else {unreadable} end)"


def stage_sql(uri: str, month: dt.date, parquet: Path) -> str:
    """COPY of the month file's trips, typed, with their file and line, to a parquet file."""
    csv_columns = ", ".join(f"{literal(c)}: 'VARCHAR'" for c in CSV_COLUMNS)
    typed = [f"{_typed(csv_column, logical, uri)} as {name}" for csv_column, name, logical in STAGED_FROM_CSV]
    return (
        "copy (with lines as ("
        # The reader keeps the file's order (preserve_insertion_order) but skips blank lines, so its rows are
        # numbered here and matched to the file's lines below.
        f"select *, row_number() over () as reader_row from read_csv({literal(uri)}, header = true, "
        f"columns = {{{csv_columns}}}, auto_detect = false, delim = ',', quote = '\"', escape = '\"', "
        "strict_mode = true)"
        "), physical as ("
        # The file as lines (one column, no quoting): a blank line is a NULL here, not skipped.
        f"select row_number() over () as source_row, line from read_csv({literal(uri)}, header = false, "
        "columns = {'line': 'VARCHAR'}, auto_detect = false, delim = '\x01', quote = '', escape = '', "
        "strict_mode = false)"
        "), numbered as ("
        f"select source_row, {_fields_if_trailing('line')} as fields, "
        "row_number() over (order by source_row) as reader_row from physical "
        "where source_row > 1 and line is not null"
        ") "
        f"select {', '.join(typed)}, {literal(uri)} as source_file, source_row, date '{month.isoformat()}' as month "
        "from lines join numbered using (reader_row) where \"VendorID\" is distinct from 'VendorID' "
        # A line whose fields are all empty is no trip (as blank lines, which the reader skips).
        f"and coalesce({', '.join(chr(34) + c + chr(34) for c in CSV_COLUMNS)}) is not null "
        f"and {_no_trailing_fields(uri)}"
        f") to {literal(str(parquet))} (format parquet)"
    )


def _fields_if_trailing(column: str) -> str:
    """The line's number of fields when it ends in a separator, else NULL: DuckDB's reader drops empty fields
    after the last column (a trailing comma), which the contract refuses as any other wrong count (the Spark
    engine counts them too). Only such a line can hold one, so only those are counted, quoted fields removed
    first; the others carry a NULL through the numbering's sort, not their text."""
    line = f"rtrim({column}, chr(13))"
    count = f"len(string_split(regexp_replace({line}, {literal(QUOTED_FIELD)}, '', 'g'), ','))"
    return f"case when suffix({line}, ',') then {count} end"


def _no_trailing_fields(uri: str) -> str:
    """True, or an error naming the line and its count of fields."""
    expected = len(CSV_COLUMNS)
    problem = (
        f"{literal(uri + ', line ')} || source_row || {literal(f': expected {expected} columns, found ')} || fields"
    )
    return f"case when fields != {expected} then cast(error({problem}) as boolean) else true end"


def stage_month(lake: DataLake, month: dt.date, extension_dir: str, clear_empty: bool = False) -> dict[str, int]:
    """The month's file as typed parquet in trips_folder(month); what was read. A month of no trip is refused
    before anything is replaced, unless `clear_empty` (the run's CLEAR_EMPTY_MONTHS_TAG): then its layer is
    emptied."""
    key = month_file(lake, month)
    uri = lake.uri(key)
    with tempfile.TemporaryDirectory() as folder:
        parquet = Path(folder) / "trips.parquet"
        if clear_empty and MONTH_FILES.is_empty(lake, lake.stat(key)):
            read = _no_trips(parquet)  # a file of zero bytes has no header to read
        else:
            read = _stage(lake, key, month, parquet, extension_dir)
        if read["rows"] == 0 and not clear_empty:
            raise MonthRejected(no_trip_message(month, uri))
        replace_folder(lake, trips_folder(month), parquet)
    return read


def no_trip_message(month: dt.date, uri: str) -> str:
    return (
        f"{month:%Y-%m}: {uri} holds no trip (only its header, blank lines or empty fields): nothing was replaced "
        f"(to clear the month on purpose, run {month_key(month)} with the tag {CLEAR_EMPTY_MONTHS_TAG}=true)"
    )


def _stage(lake: DataLake, key: str, month: dt.date, parquet: Path, extension_dir: str) -> dict[str, int]:
    if is_parquet_month(key):
        from pipeline.defs.nyc_taxi import parquet_month

        try:
            rows = parquet_month.stage_parquet_month(lake, key, month, parquet, extension_dir)
        except parquet_month.MonthRejected as exc:
            raise MonthRejected(str(exc)) from exc
        return {"rows": rows, "repeated_headers_skipped": 0}
    _check_header(lake, key, month)
    # Arrow's reader (pyarrow and numpy, ~35 MB) loads only when a month is staged, not with the code location.
    from pipeline.defs.nyc_taxi.arrow_csv import NotClean, stage_clean_month

    try:
        return {"rows": stage_clean_month(lake, key, month, parquet), "repeated_headers_skipped": 0}
    except NotClean:
        return _stage_carefully(lake, key, month, parquet, extension_dir)


def _no_trips(parquet: Path) -> dict[str, int]:
    """The typed trips' file with no row: a month cleared on purpose."""
    columns = ", ".join(f"cast(null as {DUCKDB_TYPES[logical]}) as {name}" for name, logical in TRIP_COLUMNS)
    with duckdb.connect() as connection:
        connection.execute(f"copy (select {columns} where false) to {literal(str(parquet))} (format parquet)")
    return {"rows": 0, "repeated_headers_skipped": 0}


def _check_header(lake: DataLake, key: str, month: dt.date) -> None:
    """Columns are read by position: a file whose first line is not the green-taxi header is refused. A UTF-8
    byte-order mark before it is skipped (both CSV readers skip it too)."""
    with open_month_file(lake, key) as stream:  # the line ends at \n, \r\n or a lone \r (lib/text_lines.py)
        start = stream.readline(len(HEADER) + 6).splitlines() or [b""]
    first = start[0].decode("utf-8", "replace").removeprefix(BOM)
    if first != HEADER:
        raise MonthRejected(f"{month:%Y-%m}: {lake.uri(key)}, line 1: {first[:200]!r} is not the header {HEADER!r}")


def _stage_carefully(lake: DataLake, key: str, month: dt.date, parquet: Path, extension_dir: str) -> dict[str, int]:
    uri = lake.uri(key)
    with lake_connection(lake, extension_dir) as connection:
        try:
            [rows] = connection.execute(stage_sql(uri, month, parquet)).fetchone()
        except (duckdb.InvalidInputException, duckdb.ConversionException) as exc:
            raise MonthRejected(f"{month:%Y-%m}: {_reader_message(exc, lake, key)}") from exc
        [headers] = connection.execute(
            f"select count(*) from read_csv({literal(uri)}, header = true, auto_detect = false, delim = ',', "
            "columns = {" + ", ".join(f"{literal(c)}: 'VARCHAR'" for c in CSV_COLUMNS) + "}) "
            "where \"VendorID\" = 'VendorID'"
        ).fetchone()
    return {"rows": rows, "repeated_headers_skipped": headers}


def _reader_message(exc: Exception, lake: DataLake, key: str) -> str:
    """The failure as one sentence naming file and line: ours (a value) as raised; bytes that are not UTF-8 found
    again in Python, with their line and column (DuckDB's reader names a line near them, and shows them as "?"); or
    DuckDB's reader's (a row of the wrong shape) with its line number and the line itself."""
    uri = lake.uri(key)
    if "Invalid unicode" in str(exc):
        with open_month_file(lake, key) as stream:
            found = find_invalid_utf8(stream)
        if found:
            return f"{uri}, line {found[0]}: {found[1]}"
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    first = lines[0].removeprefix("Invalid Input Error: ").removeprefix("Conversion Error: ")
    if first.startswith(uri):
        return first
    found = [line for line in lines if line.startswith(("Expected Number of Columns", "Original Line:"))]
    return f"{uri}, {first.removeprefix('CSV Error on ').replace('Line: ', 'line ')}: {'; '.join(found)}"


def aggregate_month(lake: DataLake, month: dt.date, extension_dir: str) -> dict[str, float]:
    """The fare-by-zone aggregate of the month's trips in fare_by_zone_folder(month): the original's groupBy
    (pickup zone, trip type, payment type), nulls forming their own groups; what it holds."""
    trips = read_layer_sql(lake, trips_folder(month))
    with tempfile.TemporaryDirectory() as folder, lake_connection(lake, extension_dir) as connection:
        parquet = Path(folder) / "fare_by_zone.parquet"
        connection.execute(
            f"copy (select date '{month.isoformat()}' as month, {', '.join(FARE_GROUPS)}, "
            "sum(fare_amount) as fare_amount, count(*) as trips "
            f"from {trips} group by all order by all) "
            f"to {literal(str(parquet))} (format parquet)"
        )
        [groups, total, count] = connection.execute(
            f"select count(*), sum(fare_amount), sum(trips) from read_parquet({literal(str(parquet))})"
        ).fetchone()
        replace_folder(lake, fare_by_zone_folder(month), parquet)
    return {"groups": groups, "fare_amount": round(total or 0.0, 2), "trips": count or 0}


def replace_folder(lake: DataLake, folder: str, parquet: Path) -> None:
    """The month's layer becomes this one file: put first, then the folder's other objects (another engine's
    parts, Spark's markers) removed, so a reader never finds the month empty."""
    lake.put(folder + PART, parquet.read_bytes())
    for obj in list(lake.list(folder)):
        if obj.key != folder + PART:
            lake.delete(obj.key)
