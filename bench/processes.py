"""Figures 15 to 17: whole processes, as a deployment or a user starts them (wall time, and peak RSS).

15. Definitions load: a fresh `python -c "import pipeline.definitions"` (the DuckDB warehouse, its file and the
    Dagster instance in the benchmark's folder) against a fresh `python -c "import dagster"`: what a code server,
    a run worker and every command pay before any work, over the least any Dagster process pays.
16. Its memory: the peak RSS of those same processes; the target bounds the load's own peak.
17. One new day from the CLI: `python -m pipeline materialize --group sparkify --start D --end D` for a day the
    warehouse has not seen (the song catalogue and the days before it loaded: a normal daily increment)
    against the same day's work through `materialize_group` in this process, on a second warehouse and instance
    holding the same history, loaded by the same runs in this process before any timing: its definitions built
    once from that sandbox's settings, its warm dbt started (its instance is opened inside the time, as the
    command opens it).

Each side is measured PROCESS_RUNS times (`--process-runs`), alternately; the medians are reported. A child runs under
bench/whole_process.py (its wall time and peak RSS from os.wait4, away from this process's own memory), and is
done when every process it left has ended (the warm dbt it starts), so none runs into the next measurement.
The children import only `pipeline.definitions`, `dagster` and the CLI, and get their settings (the
sandbox's variables) in their environment, never a warm dbt of this process.
"""

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bench.report import Figure, median
from bench.sandbox import Sandbox
from bench.whole_process import MARKER

if TYPE_CHECKING:
    import dagster as dg

REPO = Path(__file__).resolve().parents[1]
MB = 1_000_000
PROCESS_RUNS = 3  # each side of each figure by default (python -m bench --process-runs N): the median is reported
GROUP = "sparkify"  # the pipeline whose day figure 17 runs (its folder under pipeline/defs/)
LOAD = [sys.executable, "-c", "import pipeline.definitions"]
BARE_DAGSTER = [sys.executable, "-c", "import dagster"]
# Not inherited by a child, which must start as from a shell: the warm dbt this process may have started
# (its socket), and a personal sandbox, which would move the warehouse and the instance out of the benchmark's.
NOT_INHERITED = ("DBT_WARM_SOCKET", "SANDBOX")


def lake_days(history_days: int, runs: int = PROCESS_RUNS) -> int:
    """The days figure 17's lake needs: the history loaded before, then one new day per run."""
    return history_days + runs


def child_environment(box: Sandbox) -> dict[str, str]:
    environment = {name: value for name, value in os.environ.items() if name not in NOT_INHERITED}
    return environment | box.variables()


def timed_process(command: list[str], box: Sandbox) -> tuple[float, int]:
    """(seconds, peak RSS bytes) of the command in a fresh process with the sandbox's settings; raises if it fails."""
    box.root.mkdir(parents=True, exist_ok=True)
    (box.root / "dagster_home").mkdir(exist_ok=True)
    done = subprocess.run(
        [sys.executable, "-m", "bench.whole_process", *command],
        cwd=REPO,
        env=child_environment(box),
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    with open(box.root / "bench.log", "a") as log:
        log.write(f"$ {' '.join(command)}\n{done.stdout}{done.stderr}\n")
    results = [line for line in done.stdout.splitlines() if line.startswith(MARKER)]
    result = json.loads(results[-1].removeprefix(MARKER)) if results else None
    if done.returncode != 0 or result is None or result["exit_code"] != 0:
        raise RuntimeError(f"{' '.join(command)} in {box.root} failed:\n{(done.stdout + done.stderr)[-3000:]}")
    return result["seconds"], result["peak_rss_bytes"]


def load_figures(
    work: Path, lake_root: Path, first_day: dt.date, extension_dir: Path, runs: int = PROCESS_RUNS
) -> dict[int, Figure]:
    """Figures 15 and 16, by number: the same processes give both."""
    box = Sandbox(work / "definitions_load", str(lake_root), extension_dir, first_day=first_day.isoformat())
    loads, bare = [], []
    for _ in range(runs):  # alternately, so both see the same machine
        bare.append(timed_process(BARE_DAGSTER, box))
        loads.append(timed_process(LOAD, box))
    seconds, bare_seconds = median([s for s, _ in loads]), median([s for s, _ in bare])
    peak, bare_peak = median([p for _, p in loads]) / MB, median([p for _, p in bare]) / MB
    medians = f"medians of {runs} fresh processes each" if runs > 1 else "one fresh process each"
    return {
        15: Figure(
            "definitions_load",
            seconds,
            "s",
            bare_seconds,
            "s (import dagster)",
            seconds / bare_seconds,
            "<= 3",
            "a fresh process importing pipeline.definitions / one importing dagster alone, wall time",
            note=f"{medians}: {seconds:.2f} s against {bare_seconds:.2f} s",
        ),
        16: Figure(
            "definitions_load_peak_rss",
            peak,
            "MB",
            bare_peak,
            "MB (import dagster)",
            peak / bare_peak,
            "<= 250",
            "peak RSS of a fresh process importing pipeline.definitions",
            note=f"{medians}: {peak:.0f} MB, {peak / bare_peak:.2f} x the {bare_peak:.0f} MB of importing dagster "
            "alone",
            absolute=True,
        ),
    }


def materialize_in_process(first: str, last: str, box: Sandbox, instance: "dg.DagsterInstance") -> bool:
    """The baseline's one call: what `python -m pipeline materialize --group sparkify --start first --end last`
    runs, on the sandbox's definitions (built from its settings, as the command builds them, once before any
    timing) and data ranges, through its instance. True if every run succeeded with its blocking checks."""
    from pipeline.lib.materialize import materialize_group

    _, defs, data_ranges = box.built
    return all(outcome.ok for _, outcome in materialize_group(GROUP, defs, instance, first, last, data_ranges))


def _cli(first: str, last: str) -> list[str]:
    return [sys.executable, "-m", "pipeline", "materialize", "--group", GROUP, "--start", first, "--end", last]


def cli_figure(
    work: Path,
    lake_root: Path,
    days: list[dt.date],
    history_days: int,
    extension_dir: Path,
    runs: int = PROCESS_RUNS,
) -> Figure:
    """Figure 17: days[:history_days] loaded first, then each of the next `runs` days from the CLI on one
    warehouse and in this process on the other."""
    history = days[:history_days]
    new_days = [d.isoformat() for d in days[history_days : lake_days(history_days, runs)]]
    first_day = days[0].isoformat()
    cli_box = Sandbox(work / "new_day_from_cli", str(lake_root), extension_dir, first_day=first_day)
    in_process_box = Sandbox(work / "new_day_in_process", str(lake_root), extension_dir, first_day=first_day)
    # Both prepared alike, not timed: the instance, the song catalogue, the history; the CLI's by the command
    # itself, the other by the same runs in this process, which builds its definitions for that sandbox once
    # and starts its warm dbt, so the baseline is a process that has them, whatever figures ran before.
    first, last = history[0].isoformat(), history[-1].isoformat()
    timed_process(_cli(first, last), cli_box)
    in_process_box.timed_call(
        lambda instance: materialize_in_process(first, last, in_process_box, instance),
        f"materialize_group({GROUP!r}, {first}, {last})",
    )
    from_cli, in_process = [], []
    for day in new_days:  # each a day neither warehouse has seen
        from_cli.append(timed_process(_cli(day, day), cli_box)[0])
        in_process.append(
            in_process_box.timed_call(
                lambda instance, day=day: materialize_in_process(day, day, in_process_box, instance),
                f"materialize_group({GROUP!r}, {day}, {day})",
            )
        )
    cli, baseline = median(from_cli), median(in_process)
    return Figure(
        f"new_day_from_the_cli_after_{history_days}_days",
        cli,
        "s",
        baseline,
        "s (the same day in process, definitions loaded)",
        cli / baseline,
        "<= 1.5",
        "python -m pipeline materialize for one new day / the same day through materialize_group in a process "
        "that has its definitions",
        note=f"{f'medians of {runs} new days' if runs > 1 else 'one new day'}, each run both ways: {cli:.2f} s "
        f"against {baseline:.2f} s",
    )
