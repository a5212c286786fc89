"""Checks of each month, reading the lake again: every data line of the CSV (every row of a Parquet month) is a
staged trip, and the aggregate holds every trip's fare. Both block: a month that fails stops its loads into the
warehouse."""

import dagster as dg

from pipeline.defs.nyc_taxi.duckdb_engine import read_layer_sql
from pipeline.defs.nyc_taxi.lake_files import month_file, open_month_file
from pipeline.defs.nyc_taxi.layout import fare_by_zone_folder, is_parquet_month, is_trip_line, trips_folder
from pipeline.defs.nyc_taxi.partitions import months_of
from pipeline.lib.lake import DataLake, DataLakeResource
from pipeline.lib.text_lines import iter_lines
from pipeline.lib.warehouse.duckdb import lake_connection, literal


def month_file_trips(lake: DataLake, key: str, extension_dir: str) -> int:
    """The trips in the month file, counted apart from the engine: a CSV's lines that are not a header, and not
    blank or only separators (no field at all), counted in Python, a line ending where every reader ends it
    (lib/text_lines.py); a Parquet file's rows, from its footer."""
    if is_parquet_month(key):
        [rows] = _parquet_one(lake, f"select count(*) from read_parquet({literal(lake.uri(key))})", extension_dir)
        return rows
    with open_month_file(lake, key) as stream:
        return sum(1 for line in iter_lines(stream) if is_trip_line(line))


def _parquet_one(lake: DataLake, sql: str, extension_dir: str):
    with lake_connection(lake, extension_dir) as connection:
        return connection.execute(sql).fetchone()


def month_checks(
    lake_layers: list[dg.AssetsDefinition], partitions: dg.PartitionsDefinition, extension_dir: str
) -> list[dg.AssetChecksDefinition]:
    staging_green_trips, gold_fare_by_zone = lake_layers

    @dg.asset_check(
        asset=staging_green_trips, name="every_csv_line_is_a_trip", partitions_def=partitions, blocking=True
    )
    def every_csv_line_is_a_trip(context: dg.AssetCheckExecutionContext, nyc_lake: DataLakeResource):
        lake, problems = nyc_lake.get_lake(), []
        for month in months_of(context):
            lines = month_file_trips(lake, month_file(lake, month), extension_dir)
            [trips] = _parquet_one(
                lake, f"select count(*) from {read_layer_sql(lake, trips_folder(month))}", extension_dir
            )
            if trips != lines:
                problems.append(f"{month:%Y-%m}: {trips} trips staged for {lines} data lines")
        return dg.AssetCheckResult(passed=not problems, description="; ".join(problems) or None)

    @dg.asset_check(asset=gold_fare_by_zone, name="total_fare_matches_trips", partitions_def=partitions, blocking=True)
    def total_fare_matches_trips(context: dg.AssetCheckExecutionContext, nyc_lake: DataLakeResource):
        lake, problems = nyc_lake.get_lake(), []
        for month in months_of(context):
            trips, gold = read_layer_sql(lake, trips_folder(month)), read_layer_sql(lake, fare_by_zone_folder(month))
            staged = _parquet_one(
                lake, f"select count(*), round(coalesce(sum(fare_amount), 0), 2) from {trips}", extension_dir
            )
            summed = _parquet_one(
                # A cleared month has no group: its sums are NULL, its trips 0.
                lake,
                f"select coalesce(sum(trips), 0), round(coalesce(sum(fare_amount), 0), 2) from {gold}",
                extension_dir,
            )
            if tuple(staged) != tuple(summed):
                problems.append(
                    f"{month:%Y-%m}: trips and fare {tuple(summed)} in the aggregate, {tuple(staged)} staged"
                )
        return dg.AssetCheckResult(passed=not problems, description="; ".join(problems) or None)

    return [every_csv_line_is_a_trip, total_fare_matches_trips]
