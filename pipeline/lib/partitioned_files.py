"""Partitioned files in a lake: one object per partition (a day's log, a month's trips), and what a pipeline builds
on them: the raw asset that observes each partition's file, the sensor that requests a run per new or replaced
file, and the range of partitions the lake holds.

A pipeline gives its layout (`PartitionedFiles`: a prefix, partition key -> object key and back, and the other
names a partition's file may have, one per format it reads) and its names; the kit gives the same behaviour to
every pipeline: a missing or empty file fails the partition (an empty one may be cleared on purpose with a run
tag; a pipeline says what empty means for its files, a CSV's header alone is no data), so do two files for one
partition (one per format: which is the partition is not guessed), and the sensor's cursor has one format,
{"latest": key, "versions": {...}}.
"""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import dagster as dg

from pipeline.lib.code_references import called_from
from pipeline.lib.lake import DataLake, LakeObject
from pipeline.lib.metadata import URI
from pipeline.lib.pipelines import AssetJob
from pipeline.lib.retries import retried_on_fault

# A failed or interrupted upload leaves an object of zero bytes; one of only whitespace is as empty. Objects up
# to this size are read to tell (a partition's real file is larger), so a file costs no extra read.
SMALL_ENOUGH_TO_READ = 4096


def only_whitespace(content: bytes) -> bool:
    """The default meaning of an empty file: nothing but whitespace (a UTF-8 byte-order mark included)."""
    return not content.removeprefix(b"\xef\xbb\xbf").strip()


class MissingFiles(dg.Failure):
    """Partitions whose file is missing or empty: reported as such, never loaded as an empty partition.

    Not retried: a late or re-delivered file is picked up by the sensor when it lands, not by waiting in a retry.
    """

    def __init__(self, description: str):
        super().__init__(description=description, allow_retries=False)


@dataclass(frozen=True)
class PartitionedFiles:
    """Where each partition's file lives: `key_of(partition key)`, and back, `partition_of(object key)` (None for
    an object outside the layout). `also_as(partition key)` gives the other names it may have (a `.csv.gz` or a
    `.parquet` for a `.csv`), in key order; one of these names at most may be present. `what` names a file in
    messages ("day file", "month file")."""

    prefix: str
    key_of: Callable[[str], str]
    partition_of: Callable[[str], str | None]
    what: str = "file"
    clear_empty_tag: str | None = None  # the run tag that clears a partition whose file was emptied on purpose
    # Whether a (small) file's content holds no data: a CSV's pipeline counts a header alone as empty.
    empty_when: Callable[[bytes], bool] = only_whitespace
    also_as: Callable[[str], Sequence[str]] = lambda partition: ()

    def keys_of(self, partition: str) -> tuple[str, ...]:
        """Every name the partition's file may have, `key_of`'s first."""
        return (self.key_of(partition), *self.also_as(partition))

    def _present(self, lake: DataLake, partition: str) -> list[LakeObject]:
        return [obj for obj in map(lake.stat, self.keys_of(partition)) if obj is not None]

    def file_of(self, lake: DataLake, partition: str) -> LakeObject | None:
        """The partition's one file, whichever its name; None if there is none; MissingFiles if there are two."""
        found = self._present(lake, partition)
        if len(found) > 1:
            raise MissingFiles(self._two_files(lake, partition, found))
        return found[0] if found else None

    def _two_files(self, lake: DataLake, partition: str, found: Sequence[LakeObject]) -> str:
        return (
            f"one {self.what} per partition: {partition} has {' and '.join(lake.uri(o.key) for o in found)}; "
            "nothing was replaced (remove all but one)"
        )

    def files(self, lake: DataLake, partitions: Sequence[str], clear_empty: bool = False) -> list[LakeObject]:
        """Each partition's file, or MissingFiles naming every partition without one, with an empty one or with two.

        With `clear_empty` an empty file is returned like any other, and its partition replaced by no rows."""
        found, missing, empty, doubled = [], [], [], []
        for partition in partitions:
            objects = self._present(lake, partition)
            obj = objects[0] if objects else None
            if obj is None:
                keys = self.keys_of(partition)
                missing.append(f"{partition} ({lake.uri(keys[0])}{_beside(lake, keys, self.what)})")
            elif len(objects) > 1:
                doubled.append(self._two_files(lake, partition, objects))
            elif self.is_empty(lake, obj) and not clear_empty:
                empty.append(f"{partition} ({lake.uri(obj.key)})")
            else:
                found.append(obj)
        problems = [f"missing {self.what}(s): {', '.join(missing)}"] if missing else []
        problems += [f"{self.what} is empty: {', '.join(empty)}"] if empty else []
        problems += doubled
        if problems:
            hint = "; nothing was replaced"
            if self.clear_empty_tag:
                hint += f" (to clear a partition on purpose, run it with the tag {self.clear_empty_tag}=true)"
            raise MissingFiles("; ".join(problems) + (hint if empty else ""))
        return found

    def clears_empty(self, context: dg.AssetExecutionContext) -> bool:
        return self.clear_empty_tag is not None and context.run.tags.get(self.clear_empty_tag) == "true"

    def is_empty(self, lake: DataLake, obj: LakeObject) -> bool:
        """The file holds no data: zero bytes, or small and empty by `empty_when` (a real file is larger)."""
        if obj.size == 0:
            return True
        if obj.size > SMALL_ENOUGH_TO_READ:
            return False
        with lake.open(obj.key) as stream:
            return self.empty_when(stream.read())

    def present(self, lake: DataLake) -> tuple[dict[str, LakeObject], list[str]]:
        """The files in the layout by partition key, and the keys under the prefix that are outside it."""
        by_partition, outside = {}, []
        for obj in lake.list(self.prefix):
            partition = self.partition_of(obj.key)
            if partition is None:
                outside.append(obj.key)
            else:
                by_partition[partition] = obj
        return by_partition, outside

    def data_range(self, lake: DataLake) -> tuple[str, str] | None:
        """The first and last partition with a file (partitions in between may be missing), or None."""
        partitions = sorted(self.present(lake)[0])
        return (partitions[0], partitions[-1]) if partitions else None


def _beside(lake: DataLake, keys: Sequence[str], what: str) -> str:
    """What lies beside a missing file under the same name in a format not read (a .csv.bz2 for a .csv), said so
    a reader knows why it was not read."""
    folder, _, name = keys[0].rpartition("/")
    stem = name.partition(".")[0]
    extensions = " or ".join("." + key.rpartition("/")[2].partition(".")[2] for key in keys)
    # The folder is listed, not the name's prefix: a local lake lists folders only.
    others = [o.key.rpartition("/")[2] for o in lake.list(folder + "/") if o.key.startswith(f"{folder}/{stem}.")]
    if not others:
        return ""
    return f"; beside it: {', '.join(others)}, not read: a {what} is read as {extensions} only"


def _objects_table(lake: DataLake, objects: Sequence[LakeObject]) -> dg.MetadataValue:
    rows = "\n".join(f"| `{lake.uri(o.key)}` | {o.size} | `{o.version}` |" for o in objects)
    return dg.MetadataValue.md(f"| object | bytes | version |\n|---|---|---|\n{rows}")


def observation_asset(
    files: PartitionedFiles,
    *,
    key: Sequence[str],
    lake: str,
    partitions_def: dg.PartitionsDefinition,
    group: str,
    kinds: set[str],
    description: str,
) -> dg.AssetsDefinition:
    """The raw asset of the files: materializing a partition records the object it saw (an observation per
    partition: its dagster/uri, key, size, version) and fails when its file is missing or empty. The
    materialization's dagster/uri is the files' prefix: a range run's one result is every partition's. Its code
    reference is the pipeline's call of this function, where its key and description are given."""

    @dg.asset(
        key=list(key),
        group_name=group,
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        kinds=kinds,
        description=description,
        required_resource_keys={lake},
        metadata=called_from(),
    )
    @retried_on_fault
    def observed_files(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        data_lake: DataLake = getattr(context.resources, lake).get_lake()
        partitions = context.partition_keys
        objects = files.files(data_lake, partitions, clear_empty=files.clears_empty(context))
        for partition, obj in zip(partitions, objects, strict=True):
            context.log_event(
                dg.AssetObservation(
                    asset_key=context.asset_key,
                    partition=partition,
                    metadata={URI: data_lake.uri(obj.key), "key": obj.key, "size": obj.size, "version": obj.version},
                )
            )
        return dg.MaterializeResult(
            metadata={
                URI: data_lake.uri(files.prefix),
                "partitions": len(objects),
                "bytes": sum(o.size for o in objects),
                "objects": _objects_table(data_lake, objects),
            }
        )

    return observed_files


@dataclass
class Scan:
    """What one sensor tick found: partitions to run (with the file version that triggers each), objects outside
    the layout or before the first partition, and the next cursor."""

    requests: list[tuple[str, str]] = field(default_factory=list)
    outside_layout: list[str] = field(default_factory=list)
    before_first: list[str] = field(default_factory=list)
    cursor: dict = field(default_factory=dict)


def scan(
    files: PartitionedFiles, lake: DataLake, partition_keys: Sequence[str], cursor: dict, lookback: int | None
) -> Scan:
    """New or changed files since the cursor {"latest": key, "versions": {key: version}}.

    With a `lookback` (in partitions), only the files of the last `lookback` partitions before the latest seen
    are listed again (S3 StartAfter: a tick costs the same whatever the bucket's history); without, all are.
    A file whose partition does not exist yet (the period under way) waits, unrecorded, until it does."""
    keys, latest = list(partition_keys), cursor.get("latest")
    # A cursor written before the kit ({partition: version}, NYC taxi's) is read as its versions: no file is
    # requested again for the change of format.
    versions = dict(cursor["versions"] if "versions" in cursor else {k: v for k, v in cursor.items() if k != "latest"})
    index = {key: n for n, key in enumerate(keys)}
    start_after = None
    if lookback is not None and latest in index and index[latest] - lookback - 1 >= 0:
        # After the last name that partition's file may have: every name of the next partitions sorts after it.
        start_after = max(files.keys_of(keys[index[latest] - lookback - 1]))
    found, seen = Scan(), {}
    for obj in lake.list(files.prefix, start_after=start_after):
        partition = files.partition_of(obj.key)
        if partition is None:
            found.outside_layout.append(obj.key)
            continue
        if partition not in index:
            if keys and partition < keys[0]:
                found.before_first.append(obj.key)
            continue
        seen.setdefault(partition, []).append(obj.version)
        latest = max(latest, partition) if latest else partition
    for partition, seen_versions in seen.items():
        # A partition with two files (two formats: its run fails naming both) is one request, and one version.
        version = "+".join(seen_versions)
        if versions.get(partition) != version:
            found.requests.append((partition, version))
            versions[partition] = version
    if latest is not None:
        if lookback is not None and latest in index:
            window_start = keys[max(index[latest] - lookback, 0)]
            versions = {key: version for key, version in versions.items() if key >= window_start}
        found.cursor = {"latest": latest, "versions": versions}
    return found


def new_files_sensor(
    files: PartitionedFiles,
    *,
    name: str,
    job: AssetJob,
    partitions_def: dg.PartitionsDefinition,
    lake: str,
    minimum_interval_seconds: int,
    default_status: dg.DefaultSensorStatus,
    description: str,
    version_tag: str,
    lookback: int | None = None,
    waiting: Callable[[dg.DagsterInstance], str | None] | None = None,
) -> dg.SensorDefinition:
    """One run of `job` per new file, and again when a partition's file is replaced (a new ETag or mtime), with
    run key `<partition>@<version>`. `waiting` may hold the requests back (the cursor stays) with a reason."""

    @dg.sensor(
        name=name,
        job=job,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=default_status,
        description=description,
        required_resource_keys={lake},
    )
    def new_files(context: dg.SensorEvaluationContext, **resources) -> dg.SensorResult:
        reason = waiting(context.instance) if waiting else None
        if reason:
            return dg.SensorResult(skip_reason=reason, cursor=context.cursor)
        # Called directly (a test) Dagster passes the required resources as arguments; the daemon, in the context.
        data_lake: DataLake = (resources[lake] if lake in resources else getattr(context.resources, lake)).get_lake()
        cursor = json.loads(context.cursor) if context.cursor else {}
        found = scan(files, data_lake, partitions_def.get_partition_keys(), cursor, lookback)
        ignored = found.outside_layout + found.before_first
        if ignored:
            shown = ", ".join(data_lake.uri(key) for key in ignored[:10])
            context.log.warning(
                f"ignored under {data_lake.uri(files.prefix)}: {len(found.outside_layout)} object(s) that are not "
                f"{files.what}s, {len(found.before_first)} {files.what}(s) before the first partition: {shown}"
            )
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(run_key=f"{partition}@{version}", partition_key=partition, tags={version_tag: version})
                for partition, version in found.requests
            ],
            cursor=json.dumps(found.cursor, sort_keys=True) if found.cursor else context.cursor,
            skip_reason=None if found.requests else f"no new or replaced {files.what}s",
        )

    return new_files
