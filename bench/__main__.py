"""`python -m bench --scale small|medium|large`: measure the pipeline, print its figures against their baselines."""

import argparse
import datetime as dt
import os
import platform
import shutil
import sys
import time
import warnings
from pathlib import Path

from pipeline.lib.settings import LOCAL_DIR

FIGURES = {
    1: "staging throughput",
    2: "incremental cost vs history",
    3: "incremental vs full rebuild",
    4: "backfill in one run",
    5: "many small files from S3",
    6: "sensor cost vs bucket size",
    7: "memory",
    8: "BigQuery load file conversion",
    9: "BigQuery load file memory",
    10: "weather: fetching at the rate limit",
    11: "weather: an hour's cost vs history",
    12: "NYC taxi: CSV to typed parquet",
    13: "NYC taxi: local Spark vs DuckDB (informative)",
    14: "NYC taxi: a new month's cost vs history",
    15: "definitions load",
    16: "definitions load memory",
    17: "materialize one new day from the CLI",
}


def _machine() -> str:
    return (
        f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()} {platform.machine()}, "
        f"{dt.date.today().isoformat()}"
    )


def main(argv: list[str] | None = None) -> int:
    from bench.processes import PROCESS_RUNS
    from bench.scales import SCALES

    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--scale", choices=SCALES, default="small")
    parser.add_argument(
        "--only",
        type=int,
        nargs="+",
        choices=FIGURES,
        metavar="N",
        help=f"measure only these figures (1-{max(FIGURES)}): " + ", ".join(f"{n} {f}" for n, f in FIGURES.items()),
    )
    parser.add_argument(
        "--process-runs",
        type=int,
        default=PROCESS_RUNS,
        metavar="N",
        help=f"fresh processes on each side of figures 15-17, the median reported (default: {PROCESS_RUNS}; 1 for a "
        "quick look, as the test does)",
    )
    parser.add_argument(
        "--work-dir", type=Path, help="where data and warehouses go (default: .local/bench/<scale>, emptied first)"
    )
    args = parser.parse_args(argv)
    if args.process_runs < 1:
        parser.error("--process-runs must be at least 1")
    scale = SCALES[args.scale]
    wanted = set(args.only or FIGURES)
    work = (args.work_dir or LOCAL_DIR / "bench" / scale.name).resolve()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    warnings.filterwarnings("ignore")

    from bench import conversion, nyc_taxi, processes, runs, s3, staging, weather
    from bench.sandbox import Sandbox, default_settings
    from pipeline.defs.sparkify.sample_data import SampleSpec, generate_lake

    extension_dir = Path(default_settings().duckdb_extension_dir)

    print(f"Benchmark, scale {scale.name}: {_machine()}; data in {work}", flush=True)
    began = time.perf_counter()
    figures = []

    def show(new):
        for figure in new if isinstance(new, list) else [new]:
            figures.append(figure)
            print(figure.line(), flush=True)

    bytes_per_event = 450.0
    if 1 in wanted:
        show(staging.throughput_figure(work, scale.throughput_events, extension_dir, scale.repeats))
        day_file = next((work / "throughput_lake" / "log_data").rglob("*.json"))
        bytes_per_event = day_file.stat().st_size / scale.throughput_events
    if wanted & {2, 3, 4, 15, 16, 17}:
        lake = generate_lake(
            work / "lake",
            SampleSpec(
                days=max(
                    max(scale.history_days + scale.repeats, scale.backfill_days) if wanted & {2, 3, 4} else 0,
                    processes.lake_days(scale.short_history_days, args.process_runs),
                ),
                events_per_day=scale.events_per_day,
                song_files=scale.song_files,
                users=max(100, scale.events_per_day // 5),
            ),
            progress=False,
        )
        days = list(lake.days)
    if wanted & {2, 3, 4}:
        # The code imported and dbt's manifest parsed once, before any run is timed (each sandbox then builds
        # its own definitions from its settings, untimed too).
        Sandbox(work / "warm_up", str(lake.root), extension_dir).definitions()
        if wanted & {2, 3}:
            history = runs.history_figures(scale, lake.root, days, work, extension_dir)
            show([figure for number, figure in history.items() if number in wanted])
        if 4 in wanted:
            show(runs.backfill_figure(scale, lake.root, days, work, extension_dir))
    if 5 in wanted:
        show(s3.song_files_figure(work, scale.s3_song_files, extension_dir))
        show(s3.song_files_figure(work, scale.s3_latency_song_files, extension_dir, s3.S3_LATENCY_MS))
    if 6 in wanted:
        show(s3.sensor_figures(work, scale.sensor_objects, scale.repeats))
    if 7 in wanted:
        show(staging.memory_figure(work, scale.big_day_bytes, extension_dir, bytes_per_event))
    if 8 in wanted:
        show(conversion.conversion_figure(work, scale.throughput_events, extension_dir, scale.repeats))
    if 9 in wanted:
        show(conversion.memory_figure(work, scale.big_day_bytes, extension_dir, bytes_per_event))
    if 10 in wanted:
        show(weather.rate_limit_figure(work, extension_dir, scale.weather_cities, scale.weather_rate))
    if 11 in wanted:
        show(weather.history_figure(work, extension_dir, scale.weather_history_hours, max(scale.repeats, 2)))
    if 12 in wanted:
        show(nyc_taxi.staging_figure(work, scale.taxi_trips, extension_dir, scale.repeats))
    if 13 in wanted and (figure := nyc_taxi.spark_figure(work, scale.taxi_trips, extension_dir)) is not None:
        show(figure)
    if 14 in wanted:
        show(
            nyc_taxi.history_figure(
                work, extension_dir, scale.taxi_history_trips, scale.taxi_history_months, max(scale.repeats, 2)
            )
        )
    if wanted & {15, 16}:
        load = processes.load_figures(work, lake.root, days[0], extension_dir, args.process_runs)
        show([figure for number, figure in load.items() if number in wanted])
    if 17 in wanted:
        show(processes.cli_figure(work, lake.root, days, scale.short_history_days, extension_dir, args.process_runs))

    print(f"\nTargets ({sum(f.met for f in figures)} of {len(figures)} met), in {time.perf_counter() - began:.0f} s:")
    for figure in figures:
        print(figure.verdict())
    return 0


if __name__ == "__main__":
    sys.exit(main())
