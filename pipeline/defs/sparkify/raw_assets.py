"""Raw assets: the lake's files themselves. Materializing one records which objects a run saw (key, size, version)
and fails loudly when a day's file is missing, so a missing day is never mistaken for an empty one."""

import dagster as dg

from pipeline.defs.sparkify.lake_files import loadable_song_files, song_files_fingerprint
from pipeline.defs.sparkify.layout import LOG_FILES, SONG_PREFIX
from pipeline.lib.lake import DataLakeResource
from pipeline.lib.metadata import URI
from pipeline.lib.partitioned_files import observation_asset
from pipeline.lib.retries import retried_on_fault


def raw_log_files(partitions: dg.PartitionsDefinition, group: str) -> dg.AssetsDefinition:
    return observation_asset(
        LOG_FILES,
        key=["raw", "log_data"],
        lake="sparkify_lake",
        partitions_def=partitions,
        group=group,
        kinds={"s3", "json"},
        description="One JSON Lines activity-log file per UTC day: log_data/YYYY/MM/YYYY-MM-DD-events.json.",
    )


def raw_song_files(group: str) -> dg.AssetsDefinition:
    @dg.asset(
        key=["raw", "song_data"],
        group_name=group,
        kinds={"s3", "json"},
        description="The song metadata files: song_data/A/B/C/TR....json, one or more song objects each.",
    )
    @retried_on_fault
    def raw_song_files(sparkify_lake: DataLakeResource) -> dg.MaterializeResult:
        lake = sparkify_lake.get_lake()
        objects = loadable_song_files(lake)
        if not objects:
            raise dg.Failure(f"no song files under {lake.uri(SONG_PREFIX)}: is SPARKIFY_DATA_URI the lake's root?")
        fingerprint = song_files_fingerprint(objects)
        return dg.MaterializeResult(
            metadata={
                URI: lake.uri(SONG_PREFIX),
                "files": len(objects),
                "bytes": sum(o.size for o in objects),
                "fingerprint": fingerprint,
            },
            data_version=dg.DataVersion(fingerprint),
        )

    return raw_song_files
