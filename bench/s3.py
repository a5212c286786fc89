"""Figures 5 and 6, against an S3 endpoint on loopback (moto).

5. Many small files: staging_songs over N song files in the bucket, against a sequential loop that GETs
   each file and parses it (then inserts the rows in one statement). Measured as the issue states it, on
   loopback, where a request costs only moto's CPU; and again with each request answered S3_LATENCY_MS late,
   as S3's are across a network, which is the wait a sequential loop adds up and concurrency overlaps.
6. Sensor cost vs bucket size: one steady-state tick of new_log_days_sensor with few and with many
   objects in the bucket, in list calls and in time.
"""

import contextlib
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import botocore.client
import dagster as dg
import duckdb

from bench.report import Figure, median
from bench.s3_endpoint import BUCKET, CREDENTIALS, s3_endpoint
from bench.sandbox import definitions_of_variables, environment
from pipeline.defs.sparkify.lake_files import song_files
from pipeline.defs.sparkify.sample_data import SampleSpec, generate_lake
from pipeline.defs.sparkify.staging_assets import STAGING_SONGS_KEY
from pipeline.defs.sparkify.staging_tables import staging_tables
from pipeline.lib.json_records import iter_objects
from pipeline.lib.lake import DataLakeResource, lake_resource
from pipeline.lib.materialize import QUIET_LOGS
from pipeline.lib.warehouse.duckdb import DUCKDB_TYPES

if TYPE_CHECKING:
    from dagster._core.definitions.sensor_definition import SensorExecutionData

# staging_songs in its default schema (SPARKIFY_STAGING_SCHEMA unset), as definitions_of_variables() load it.
STAGING_SONGS = staging_tables("staging").songs


@contextlib.contextmanager
def counted_calls() -> Iterator[dict[str, float]]:
    """Counts every AWS API call made by any boto3 client in this process, by operation name; the seconds
    spent waiting for each operation's calls under "<operation> seconds"."""
    counts: dict[str, float] = {}
    make_call = botocore.client.BaseClient._make_api_call

    def counting(client, operation, params):
        counts[operation] = counts.get(operation, 0) + 1
        began = time.perf_counter()
        try:
            return make_call(client, operation, params)
        finally:
            counts[f"{operation} seconds"] = counts.get(f"{operation} seconds", 0) + time.perf_counter() - began

    botocore.client.BaseClient._make_api_call = counting
    try:
        yield counts
    finally:
        botocore.client.BaseClient._make_api_call = make_call


LAKE_URI = f"s3://{BUCKET}/lake"


def _lake_resource() -> DataLakeResource:
    """The lake in the bucket as a pipeline's settings make it; the endpoint is AWS_ENDPOINT_URL's (each figure
    sets it while the endpoint runs), which boto3 honours."""
    return lake_resource(LAKE_URI)


def _sequential_get_loop(endpoint: str, database: Path) -> int:
    """The baseline: list, then GET and parse one file after another; the rows in one insert at the end."""
    client = boto3.client("s3", endpoint_url=endpoint)
    lake = _lake_resource().get_lake()
    rows = []
    for obj in song_files(lake):
        body = client.get_object(Bucket=BUCKET, Key=f"lake/{obj.key}")["Body"]
        rows.extend(tuple(o.get(c.source) for c in STAGING_SONGS.columns) for _, o in iter_objects(body, obj.key))
    columns = ", ".join(f"{c.name} {DUCKDB_TYPES[c.type]}" for c in STAGING_SONGS.columns)
    with duckdb.connect(str(database)) as connection:
        connection.execute(f"create or replace table songs_loop ({columns})")
        connection.executemany(f"insert into songs_loop values ({', '.join('?' * len(STAGING_SONGS.columns))})", rows)
    return len(rows)


CEILING_THREADS = 32
# AWS's S3 performance guidance: small requests' median latency is in the tens of milliseconds.
S3_LATENCY_MS = 20


def _concurrent_gets(endpoint: str) -> float:
    """Seconds for GETting every song file from CEILING_THREADS threads, reading the bodies and nothing else:
    what any client can get out of this endpoint on this machine."""
    client = boto3.client("s3", endpoint_url=endpoint)
    keys = [f"lake/{obj.key}" for obj in song_files(_lake_resource().get_lake())]
    began = time.perf_counter()
    with ThreadPoolExecutor(CEILING_THREADS) as pool:
        list(pool.map(lambda key: client.get_object(Bucket=BUCKET, Key=key)["Body"].read(), keys))
    return time.perf_counter() - began


def song_files_figure(work: Path, files: int, extension_dir: Path, latency_ms: float = 0) -> Figure:
    """Figure 5 over `files` song files, each request answered `latency_ms` late (0: as fast as moto can)."""
    name = f"stage_{files}_song_files_from_s3" + (f"_{latency_ms:g}ms_latency" if latency_ms else "")
    lake = generate_lake(work / f"{name}_lake", SampleSpec(days=1, events_per_day=10, song_files=files), progress=False)
    endpoint_options = ["--mirror", str(lake.root), "--latency-ms", str(latency_ms)]
    with (
        s3_endpoint(endpoint_options, work / f"{name}_s3.log") as endpoint,
        environment(AWS_ENDPOINT_URL=endpoint, **CREDENTIALS),
    ):
        # The code location on that lake (the endpoint is AWS_ENDPOINT_URL's) and a warehouse file of the figure's
        # own, built before the timing; staging_songs runs with the resources they bind to it (the lake, the warehouse).
        defs = definitions_of_variables(
            {
                "SPARKIFY_DATA_URI": LAKE_URI,
                "WAREHOUSE": "duckdb",
                "DUCKDB_PATH": str(work / f"{name}.duckdb"),
                "DUCKDB_EXTENSION_DIR": str(extension_dir),
            }
        )
        warehouse = defs.resources["warehouse"]
        began = time.perf_counter()
        result = dg.materialize([defs.resolve_assets_def(STAGING_SONGS_KEY)], run_config=QUIET_LOGS)
        ours = time.perf_counter() - began
        if not result.success:
            raise RuntimeError("staging_songs from the S3 endpoint failed")
        staged = warehouse.row_count(STAGING_SONGS.qualified)
        began = time.perf_counter()
        looped = _sequential_get_loop(endpoint, work / f"{name}_loop.duckdb")
        loop = time.perf_counter() - began
        ceiling = _concurrent_gets(endpoint)
    if staged != looped:
        raise RuntimeError(f"staging_songs loaded {staged} rows, the GET loop read {looped}")
    return Figure(
        name,
        ours,
        "s",
        loop,
        "s",
        loop / ours,
        ">= 5",
        "sequential GET-per-file loop / staging_songs: the speed-up"
        + (f", each request {latency_ms:g} ms late as across a network" if latency_ms else ", on loopback"),
        note=f"the endpoint's own ceiling: {CEILING_THREADS} threads doing nothing but GET every file took "
        f"{ceiling:.2f} s, {loop / ceiling:.2f}x faster than the loop",
    )


def _songs_loaded_instance() -> dg.DagsterInstance:
    """An instance where sparkify_songs has run: the day sensor waits for the song catalogue otherwise."""
    instance = dg.DagsterInstance.ephemeral()
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=STAGING_SONGS_KEY))
    return instance


def _tick(
    defs: dg.Definitions, cursor: str | None, instance: dg.DagsterInstance
) -> tuple["SensorExecutionData", float, int, float]:
    """The tick's result, seconds, list calls and seconds waiting for them. The sensor is evaluated as the
    daemon evaluates it (`evaluate_tick`: the function with its resources, its run requests resolved)."""
    sensor = defs.resolve_sensor_def("new_log_days_sensor")
    resources = {"sparkify_lake": _lake_resource()}
    with (
        dg.build_sensor_context(cursor=cursor, resources=resources, instance=instance, definitions=defs) as context,
        counted_calls() as calls,
    ):
        began = time.perf_counter()
        result = sensor.evaluate_tick(context)
        seconds = time.perf_counter() - began
    return result, seconds, calls.get("ListObjectsV2", 0), calls.get("ListObjectsV2 seconds", 0.0)


# A tick takes a fraction of a second: enough of them per round that one slow tick does not move the median.
TICKS_PER_ROUND = 5


def _steady_tick(work: Path, objects: int, days: int, repeats: int) -> tuple[float, int, float]:
    """(seconds, list calls, seconds listing) of a tick after the first, medians of TICKS_PER_ROUND * `repeats`
    ticks, with `objects` in the bucket."""
    options = ["--days", str(days), "--others", str(objects - days)]
    with (
        s3_endpoint(options, work / f"s3_sensor_{objects}.log") as endpoint,
        environment(AWS_ENDPOINT_URL=endpoint, **CREDENTIALS),
    ):
        instance = _songs_loaded_instance()
        # The code location on that lake (a fresh clone's look-back and first day), built untimed.
        defs = definitions_of_variables({"SPARKIFY_DATA_URI": LAKE_URI})
        first, *_ = _tick(defs, None, instance)
        if len(first.run_requests) != days:
            raise RuntimeError(f"the first tick requested {len(first.run_requests)} runs, expected {days}")
        ticks = [_tick(defs, first.cursor, instance) for _ in range(TICKS_PER_ROUND * repeats)]
    if any(result.run_requests for result, *_ in ticks):
        raise RuntimeError("a steady-state tick requested runs: nothing changed in the bucket")
    return (median([tick[1] for tick in ticks]), max(tick[2] for tick in ticks), median([tick[3] for tick in ticks]))


def sensor_figures(work: Path, sizes: tuple[int, int], repeats: int) -> list[Figure]:
    few, many = sizes
    days = min(365, few // 2)  # a year of day files; the rest of the bucket is other objects
    few_seconds, few_calls, few_listing = _steady_tick(work, few, days, repeats)
    many_seconds, many_calls, many_listing = _steady_tick(work, many, days, repeats)
    # moto answers a list call by walking every key of the bucket (S3 does not), so the endpoint's share
    # of a tick grows with the bucket although the sensor asks for the same few keys.
    own_few, own_many = few_seconds - few_listing, many_seconds - many_listing
    listing_note = (
        f"of which waiting for the endpoint's list call: {many_listing * 1000:.0f} vs {few_listing * 1000:.0f} ms "
        f"({many_listing / few_listing:.2f}x); the rest of the tick: {own_many * 1000:.0f} vs {own_few * 1000:.0f} ms "
        f"({own_many / own_few:.2f}x)"
    )
    return [
        Figure(
            f"sensor_tick_list_calls_{many}_objects",
            many_calls,
            "calls",
            few_calls,
            f"calls ({few} objects)",
            many_calls / few_calls,
            "<= 1.5",
            f"S3 list calls of a tick, {many} / {few} objects in the bucket",
        ),
        Figure(
            f"sensor_tick_time_{many}_objects",
            many_seconds * 1000,
            "ms",
            few_seconds * 1000,
            f"ms ({few} objects)",
            many_seconds / few_seconds,
            "<= 1.5",
            f"time of a tick, {many} / {few} objects in the bucket",
            note=listing_note,
        ),
    ]
