"""Staging assets: the raw files loaded as they are into the warehouse's staging schema.

A run's days (or all songs) replace exactly their own rows in one transaction, so a re-run duplicates
nothing and a bad file leaves the table as it was.
"""

import dagster as dg

from pipeline.defs.sparkify.lake_files import day_files, loadable_song_files
from pipeline.defs.sparkify.layout import JSONPATHS_KEY, LOG_FILES
from pipeline.defs.sparkify.partitions import day_epoch_ms, days_of
from pipeline.defs.sparkify.staging_tables import EVENT_TIME_COLUMN, StagingTables
from pipeline.lib.lake import DataLakeResource
from pipeline.lib.load_errors import load_or_fail
from pipeline.lib.metadata import ROW_COUNT, loaded_table, record_partition_row_counts, warehouse_table
from pipeline.lib.retries import retried_on_fault
from pipeline.lib.warehouse import FileLedger, JsonBatch, Warehouse, ledger_table

STAGING_EVENTS_KEY = dg.AssetKey(["staging", "staging_events"])
STAGING_SONGS_KEY = dg.AssetKey(["staging", "staging_songs"])
WAITING_FOR_SONGS = "the song catalogue is not loaded yet: sparkify_songs has never materialized staging_songs"


def day_batches(lake, days, clear_empty: bool = False) -> list[JsonBatch]:
    """One batch per day: its file replaces the rows of its UTC day, and every row must lie in that day.

    An empty file is refused (lake_files.day_files) unless the run clears empty days on purpose.
    """
    return [
        JsonBatch(
            keys=(obj.key,),
            window_column=EVENT_TIME_COLUMN,
            low=low,
            high=high,
            label=f"{day} ({lake.uri(obj.key)})",
            jsonpaths_key=JSONPATHS_KEY,
        )
        for day, obj in zip(days, day_files(lake, days, clear_empty), strict=True)
        for low, high in [day_epoch_ms(day)]
    ]


def plan_song_load(current: dict[str, str], loaded: dict[str, str]) -> tuple[list[str], bool]:
    """(keys to load, whether they replace the table) given the song files now and those already loaded.

    New files are appended. A file replaced or removed since it was loaded means rows to take back,
    and staging keeps no per-row file, so the table is reloaded whole.
    """
    if not loaded or any(current.get(key) != version for key, version in loaded.items()):
        return sorted(current), True
    return sorted(key for key in current if key not in loaded), False


def song_catalogue_loaded(instance: dg.DagsterInstance) -> bool:
    """Whether sparkify_songs has loaded staging_songs at least once: the daily models join plays to it."""
    return instance.get_latest_materialization_event(STAGING_SONGS_KEY) is not None


def staging_assets(
    tables: StagingTables,
    partitions: dg.PartitionsDefinition,
    raw: list[dg.AssetsDefinition],
    group: str,
    warehouse: str,
) -> list[dg.AssetsDefinition]:
    """staging/staging_events and staging/staging_songs, on the warehouse WAREHOUSE names."""
    raw_log_files, raw_song_files = raw
    events_loaded, songs_loaded = loaded_table(tables.events, warehouse), loaded_table(tables.songs, warehouse)

    @dg.asset(
        key=STAGING_EVENTS_KEY,
        deps=[raw_log_files],
        group_name=group,
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        kinds={warehouse},
        metadata=warehouse_table(tables.events, warehouse),
        description="Every event of the activity logs, one row per JSON object; a day's load replaces that day's rows.",
    )
    @retried_on_fault
    def staging_events(
        context: dg.AssetExecutionContext, sparkify_lake: DataLakeResource, warehouse: Warehouse
    ) -> dg.MaterializeResult:
        lake = sparkify_lake.get_lake()
        days = days_of(context)
        batches = day_batches(lake, days, LOG_FILES.clears_empty(context))
        counts = load_or_fail(lake, warehouse, tables.events, batches)
        # A day's batch replaces the whole day, so the rows it loaded are the day's rows now.
        record_partition_row_counts(context, dict(zip(context.partition_keys, counts, strict=True)))
        return dg.MaterializeResult(metadata=events_loaded)

    @dg.asset(
        key=STAGING_SONGS_KEY,
        deps=[raw_song_files],
        group_name=group,
        kinds={warehouse},
        metadata=warehouse_table(tables.songs, warehouse),
        description="Every song object of the song files, one row each (a song copied into two files is two rows). "
        "Only files not loaded before are read; staging_songs_files records which were.",
    )
    @retried_on_fault
    def staging_songs(sparkify_lake: DataLakeResource, warehouse: Warehouse) -> dg.MaterializeResult:
        lake = sparkify_lake.get_lake()
        ledger_spec = ledger_table(tables.songs)
        current = {obj.key: obj.version for obj in loadable_song_files(lake)}
        keys, replace = plan_song_load(current, warehouse.loaded_files(ledger_spec))
        batch = JsonBatch(keys=tuple(keys), append=not replace, label=f"{len(keys)} song files")
        ledger = FileLedger(ledger_spec, tuple((key, current[key]) for key in keys), replace=replace)
        [count] = load_or_fail(lake, warehouse, tables.songs, [batch], ledger)
        return dg.MaterializeResult(
            metadata={
                **songs_loaded,
                ROW_COUNT: warehouse.row_count(tables.songs.qualified),
                "rows_loaded": count,  # by this run: new files only add theirs
                "files_loaded": len(keys),
                "files_in_lake": len(current),
                "mode": "full reload" if replace else "new files only",
                "table": tables.songs.qualified,
            }
        )

    return [staging_events, staging_songs]
