"""Figures 1 and 7: staging one day's events into DuckDB through the pipeline's own load.

1. Throughput: rows/s of the staging_events load (Warehouse.replace_from_json with the asset's batch:
   typed columns, the day-window check, delete + insert in one transaction) against DuckDB's own
   `read_json` of the same file into a new table, given staging_events' columns and types and told the
   file is newline-delimited: the fastest the engine loads it.
7. Memory: the peak RSS of a process that stages one big day file. The file is read by the engine and
   never becomes Python objects, so the peak stays below the file's size.
"""

import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from bench.report import Figure, median
from pipeline.defs.sparkify.layout import event_key
from pipeline.defs.sparkify.sample_data import SampleSpec, generate_lake
from pipeline.defs.sparkify.staging_assets import day_batches
from pipeline.defs.sparkify.staging_tables import staging_tables
from pipeline.lib.lake import LocalLake
from pipeline.lib.warehouse import DuckDBWarehouse
from pipeline.lib.warehouse.duckdb import DUCKDB_TYPES

# staging_events in its default schema (SPARKIFY_STAGING_SCHEMA unset), as the pipeline loads it.
STAGING_EVENTS = staging_tables("staging").events

MB = 1_000_000


def one_day_lake(root: Path, events: int) -> tuple[LocalLake, dt.date, Path]:
    """A lake whose only day holds `events` events (few users and songs: the size is in the events);
    generated once per benchmark run, and reused by the figures that read the same day."""
    done = root / ".generated"
    if done.exists():
        day = dt.date.fromisoformat(done.read_text())
        return LocalLake(root), day, root / event_key(day)
    lake = generate_lake(root, SampleSpec(days=1, events_per_day=events, song_files=50, users=100), progress=False)
    day = lake.days[0]
    done.write_text(day.isoformat())
    return LocalLake(root), day, root / event_key(day)


def stage_day(lake: LocalLake, day: dt.date, warehouse: DuckDBWarehouse) -> int:
    """What staging_events does for one day; the rows loaded."""
    [rows] = warehouse.replace_from_json(lake, STAGING_EVENTS, day_batches(lake, [day]))
    return rows


def engine_copy(path: Path, database: Path) -> int:
    """DuckDB alone: the file into a new table by read_json with staging_events' columns and types, as
    newline-delimited JSON (nothing to detect); the rows loaded."""
    columns = ", ".join(f"'{c.source}': '{DUCKDB_TYPES[c.type]}'" for c in STAGING_EVENTS.columns)
    with duckdb.connect(str(database)) as connection:
        connection.execute(
            f"create or replace table read_json_copy as select * from "
            f"read_json('{path}', columns = {{{columns}}}, format = 'newline_delimited')"
        )
        return connection.execute("select count(*) from read_json_copy").fetchone()[0]


def throughput_figure(work: Path, events: int, extension_dir: Path, repeats: int) -> Figure:
    lake, day, path = one_day_lake(work / "throughput_lake", events)
    warehouse = DuckDBWarehouse(path=str(work / "throughput.duckdb"), extension_dir=str(extension_dir))
    baseline_db = work / "throughput_read_json.duckdb"
    ours, engine = [], []
    for _ in range(max(repeats, 2)):  # alternate, so both see the same machine
        began = time.perf_counter()
        rows = stage_day(lake, day, warehouse)
        ours.append(rows / (time.perf_counter() - began))
        began = time.perf_counter()
        engine_rows = engine_copy(path, baseline_db)
        engine.append(engine_rows / (time.perf_counter() - began))
    if rows != engine_rows:
        raise RuntimeError(f"the pipeline staged {rows} rows of {path}, read_json read {engine_rows}")
    size = path.stat().st_size / MB
    return Figure(
        f"staging_throughput_{rows}_events_{size:.0f}MB",
        median(ours),
        "rows/s",
        median(engine),
        "rows/s",
        median(ours) / median(engine),
        ">= 0.9",
        "pipeline staging rows/s / DuckDB read_json (explicit columns, newline-delimited) rows/s",
    )


def memory_figure(work: Path, file_bytes: int, extension_dir: Path, bytes_per_event: float) -> Figure:
    lake, day, path = one_day_lake(work / "memory_lake", int(file_bytes / bytes_per_event))
    arguments = [str(lake.root), day.isoformat(), str(work / "memory.duckdb"), str(extension_dir)]
    return peak_rss_figure("bench.staging", arguments, path, "staging_peak_rss", "staging")


def peak_rss_figure(module: str, arguments: list[str], path: Path, name: str, doing: str) -> Figure:
    """The peak RSS of `python -m module arguments` (its probe, in a fresh process) against the day file's size."""
    size = path.stat().st_size
    probe = subprocess.run([sys.executable, "-m", module, *arguments], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        raise RuntimeError(f"{doing} {path} in a child process failed:\n{probe.stderr[-2000:]}")
    peak = json.loads(probe.stdout.strip().splitlines()[-1])["peak_rss_bytes"]
    return Figure(
        f"{name}_{size / MB:.0f}MB_day_file",
        peak / MB,
        "MB",
        size / MB,
        "MB (file size)",
        peak / size,
        "< 1",
        f"peak RSS of the {doing} process / size of the day file",
    )


def _probe(lake_root: str, day: str, database: str, extension_dir: str) -> None:
    """In a fresh process: stage the day, print the rows and the peak RSS as JSON."""
    warehouse = DuckDBWarehouse(path=database, extension_dir=extension_dir)
    rows = stage_day(LocalLake(lake_root), dt.date.fromisoformat(day), warehouse)
    print(json.dumps({"rows": rows, "peak_rss_bytes": peak_rss_bytes()}))


def peak_rss_bytes() -> int:
    """This process's peak RSS: VmHWM, which starts afresh at exec (getrusage's ru_maxrss keeps the
    parent's peak across fork + exec, so a child of a big benchmark process would report the parent)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024  # kB
    raise RuntimeError("no VmHWM in /proc/self/status: peak RSS is measured on Linux only")


if __name__ == "__main__":
    _probe(*sys.argv[1:5])
