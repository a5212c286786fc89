"""The local engine's fast path for staging a month: Arrow's CSV reader types every column as it parses (all
cores), each trip gets its line number from its position, and the typed table is written as parquet. A .csv.gz
is decompressed as it is read (Arrow's gzip stream).

It takes only a clean file: every value parses as its type (a finite number, text without a NUL, UTF-8 in every
column), every line has the header's columns, no header repeats. Anything else raises NotClean, and
duckdb_engine.py stages the month its careful way instead, which names the file, line and column of the first
problem. Blank lines are kept while reading, so a trip's position is its line in the file, then dropped (a line
whose fields are all empty is no trip either).

The month is held typed in memory while it is written: about 150 bytes a trip (150 MB for a million).
"""

import datetime as dt
import functools
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from pipeline.defs.nyc_taxi.layout import CSV_COLUMNS, DROPPED, STAGED_FROM_CSV
from pipeline.lib.lake import DataLake

ARROW_TYPES = {"integer": pa.int32(), "double": pa.float64(), "text": pa.string(), "timestamp": pa.timestamp("us")}
BLOCK = 4 << 20  # bytes parsed per task: large enough to keep both cores busy on a million-trip month


# What is read: every staged column typed, and the dropped one as text, so that bytes that are not UTF-8 in it
# hand the file to the careful path too (a file is UTF-8 text throughout, whichever of its columns load).
COLUMN_TYPES = {column: ARROW_TYPES[logical] for column, _, logical in STAGED_FROM_CSV} | {DROPPED: pa.string()}


class NotClean(Exception):
    """The file needs the careful path: a value, a line's shape or a repeated header the fast path refuses."""


def stage_clean_month(lake: DataLake, key: str, month: dt.date, parquet: Path) -> int:
    """The month's trips typed, with source_file, source_row and month, written to `parquet`; the trips."""
    try:
        with lake.open(key) as stream:
            table = pa_csv.read_csv(
                pa.CompressedInputStream(stream, "gzip") if key.endswith(".gz") else stream,
                read_options=pa_csv.ReadOptions(column_names=list(CSV_COLUMNS), skip_rows=1, block_size=BLOCK),
                parse_options=pa_csv.ParseOptions(ignore_empty_lines=False),
                convert_options=pa_csv.ConvertOptions(
                    column_types=COLUMN_TYPES,
                    include_columns=list(COLUMN_TYPES),
                    timestamp_parsers=["%Y-%m-%d %H:%M:%S"],
                    # Only an empty field is NULL: Arrow's defaults make "NaN", "NA" or "NULL" NULL too, which the
                    # careful path and the Spark engine refuse in a number (and keep as text).
                    null_values=[""],
                    strings_can_be_null=True,
                ),
            )
    except pa.ArrowInvalid as exc:  # a value that does not parse, a line of the wrong shape, bytes not UTF-8
        raise NotClean(str(exc)) from exc
    if not _only_what_loads(table):
        raise NotClean("a NUL in text or a number that is not finite")
    rows = pa.array(np.arange(2, 2 + table.num_rows, dtype=np.int64))  # the header is line 1
    empty = functools.reduce(pc.and_, [pc.is_null(column) for column in table.columns])
    table = table.drop_columns([DROPPED])
    if pc.any(empty).as_py():
        keep = pc.invert(empty)
        table, rows = table.filter(keep), rows.filter(keep)
    count = table.num_rows
    days = (month - dt.date(1970, 1, 1)).days
    trips = pa.table(
        [
            *table.columns,
            pa.DictionaryArray.from_arrays(pa.array(np.zeros(count, dtype=np.int32)), pa.array([lake.uri(key)])),
            rows,
            pa.array(np.full(count, days, dtype=np.int32)).cast(pa.date32()),
        ],
        names=[name for _, name, _ in STAGED_FROM_CSV] + ["source_file", "source_row", "month"],
    )
    pq.write_table(trips, parquet)
    return count


def _only_what_loads(table: pa.Table) -> bool:
    """No NUL in a staged text and no NaN or infinity in a number: the careful path names the line of either."""
    for column, _, logical in STAGED_FROM_CSV:
        values = table.column(column)
        if logical == "text" and pc.any(pc.match_substring(values, "\x00")).as_py():
            return False
        if logical == "double" and pc.any(pc.invert(pc.is_finite(values))).as_py():
            return False
    return True
