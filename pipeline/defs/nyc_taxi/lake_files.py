"""Which parquet files make up a month's layer (a folder: DuckDB writes one file, Spark one per task)."""

from pipeline.defs.nyc_taxi.layout import is_parquet_part
from pipeline.lib.lake import DataLake


def layer_files(lake: DataLake, folder: str) -> tuple[str, ...]:
    """The keys of the parquet files in a month's layer folder, in order; an error naming the folder if none."""
    keys = tuple(obj.key for obj in lake.list(folder) if is_parquet_part(obj.key))
    if not keys:
        raise FileNotFoundError(f"no parquet files under {lake.uri(folder)}: the step that writes it has not run")
    return keys
