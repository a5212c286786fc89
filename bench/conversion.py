"""Figures 8 and 9: converting one day's events into a BigQuery load file (BigQuery cannot read S3).

8. Throughput: rows/s of the BigQuery warehouse's conversion (the staging_events batch read with the
   DuckDB warehouse's reader and guards, written as Parquet with the table's types) against DuckDB's own
   `COPY (select ... from read_json(..., columns = ...)) TO '...parquet'` of the same file: the fastest
   the engine writes it.
9. Memory: the peak RSS of a process that converts one big day file; the file is streamed through the
   engine, never a Python object per row, so the peak stays below the file's size.
"""

import datetime as dt
import json
import sys
import time
from pathlib import Path

import duckdb

from bench.report import Figure, median
from bench.staging import MB, STAGING_EVENTS, one_day_lake, peak_rss_bytes, peak_rss_figure
from pipeline.defs.sparkify.staging_assets import day_batches
from pipeline.lib.lake import LocalLake
from pipeline.lib.warehouse.bigquery import BigQueryWarehouse
from pipeline.lib.warehouse.duckdb import DUCKDB_TYPES


def convert_day(lake: LocalLake, day: dt.date, folder: Path, extension_dir: Path) -> tuple[Path, int]:
    """What the BigQuery warehouse does with staging_events' batch before its load job: the file and its rows."""
    [batch] = day_batches(lake, [day])
    return BigQueryWarehouse.parquet_load_file(lake, STAGING_EVENTS, batch, folder, str(extension_dir))


def engine_copy(path: Path, parquet: Path) -> int:
    """DuckDB alone: the file to Parquet through read_json with staging_events' columns and types, as
    newline-delimited JSON (nothing to detect); the rows written."""
    columns = ", ".join(f"'{c.source}': '{DUCKDB_TYPES[c.type]}'" for c in STAGING_EVENTS.columns)
    with duckdb.connect() as connection:
        select = f"select * from read_json('{path}', columns = {{{columns}}}, format = 'newline_delimited')"
        return connection.execute(f"copy ({select}) to '{parquet}' (format parquet)").fetchone()[0]


def conversion_figure(work: Path, events: int, extension_dir: Path, repeats: int) -> Figure:
    lake, day, path = one_day_lake(work / "throughput_lake", events)
    folder = work / "conversion"
    folder.mkdir(exist_ok=True)
    ours, engine = [], []
    for _ in range(max(repeats, 2)):  # alternate, so both see the same machine
        began = time.perf_counter()
        parquet, rows = convert_day(lake, day, folder, extension_dir)
        ours.append(rows / (time.perf_counter() - began))
        parquet.unlink()
        began = time.perf_counter()
        engine_rows = engine_copy(path, folder / "engine.parquet")
        engine.append(engine_rows / (time.perf_counter() - began))
    if rows != engine_rows:
        raise RuntimeError(f"the conversion wrote {rows} rows of {path}, DuckDB's COPY wrote {engine_rows}")
    return Figure(
        f"bigquery_load_file_{rows}_events_{path.stat().st_size / MB:.0f}MB",
        median(ours),
        "rows/s",
        median(engine),
        "rows/s",
        median(ours) / median(engine),
        ">= 0.7",
        "pipeline's conversion to a Parquet load file, rows/s / DuckDB COPY read_json TO parquet rows/s",
    )


def memory_figure(work: Path, file_bytes: int, extension_dir: Path, bytes_per_event: float) -> Figure:
    lake, day, path = one_day_lake(work / "memory_lake", int(file_bytes / bytes_per_event))
    arguments = [str(lake.root), day.isoformat(), str(work), str(extension_dir)]
    return peak_rss_figure("bench.conversion", arguments, path, "bigquery_load_file_peak_rss", "converting")


def _probe(lake_root: str, day: str, folder: str, extension_dir: str) -> None:
    """In a fresh process: convert the day, print the rows and the peak RSS as JSON."""
    parquet, rows = convert_day(LocalLake(lake_root), dt.date.fromisoformat(day), Path(folder), Path(extension_dir))
    parquet.unlink()
    print(json.dumps({"rows": rows, "peak_rss_bytes": peak_rss_bytes()}))


if __name__ == "__main__":
    _probe(*sys.argv[1:5])
