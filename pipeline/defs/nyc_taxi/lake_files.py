"""Which files a month is in the lake: its one month file (whichever format), and the parquet files that make up a
month's layer (a folder: DuckDB writes one file, Spark one per task)."""

import contextlib
import datetime as dt
import gzip
from collections.abc import Iterator
from typing import BinaryIO

from pipeline.defs.nyc_taxi.layout import MONTH_FILES, is_parquet_part, month_key
from pipeline.lib.lake import DataLake


def month_file(lake: DataLake, month: dt.date) -> str:
    """The key of the month's file (.csv, .csv.gz or .parquet); an error naming both when a month has two, or
    naming the month when it has none (the staging step checked both before any engine runs)."""
    obj = MONTH_FILES.file_of(lake, month_key(month))
    if obj is None:
        raise FileNotFoundError(f"no month file for {month:%Y-%m} under {lake.uri(MONTH_FILES.prefix)}")
    return obj.key


@contextlib.contextmanager
def open_month_file(lake: DataLake, key: str) -> Iterator[BinaryIO]:
    """A CSV month file's bytes, a .csv.gz decompressed (DuckDB's and Spark's readers decompress it by its name)."""
    with lake.open(key) as stream:
        yield gzip.GzipFile(fileobj=stream) if key.endswith(".gz") else stream


def layer_files(lake: DataLake, folder: str) -> tuple[str, ...]:
    """The keys of the parquet files in a month's layer folder, in order; an error naming the folder if none."""
    keys = tuple(obj.key for obj in lake.list(folder) if is_parquet_part(obj.key))
    if not keys:
        raise FileNotFoundError(f"no parquet files under {lake.uri(folder)}: the step that writes it has not run")
    return keys
