"""What a pipeline offers `python -m pipeline demo` and `generate`: a `Demo` value named `demo` in its folder's
demo.py, found by folder like its definitions.py, and never imported when the code location loads.

The demo writes each pipeline's sample data under one folder, starts what must serve during the runs (a local
API), builds the definitions from the settings those give, materializes every group and prints a summary.
"""

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from pipeline.lib.freshness import freshness_checks_job
from pipeline.lib.instance import ensure_dagster_home, local_instance, record_demo_environment
from pipeline.lib.materialize import UsageError, all_ok, materialize_groups, print_summary, run_job
from pipeline.lib.settings import Settings


@dataclass(frozen=True)
class Demo:
    """`prepare(folder, today)` writes the pipeline's sample data under the folder and returns the variables that
    point the pipeline at it; `serve()` is a context in which a service the demo's runs need is up, giving its
    variables; `generate(argv)` is the pipeline's `python -m pipeline generate <name> ...`; with
    `freshness_checks` the demo evaluates the pipeline's freshness checks after its runs."""

    prepare: Callable[[Path, dt.date], Mapping[str, str]]
    serve: Callable[[], AbstractContextManager[Mapping[str, str]]] | None = None
    generate: Callable[[list[str]], int] | None = None
    freshness_checks: bool = False


@contextlib.contextmanager
def served(demos: Mapping[str, Demo]) -> Iterator[dict[str, str]]:
    """Every demo's service up for the context's length; their variables."""
    with contextlib.ExitStack() as stack:
        variables = {}
        for demo in demos.values():
            if demo.serve is not None:
                variables.update(stack.enter_context(demo.serve()))
        yield variables


def folder_demos(defs_dir: Path, import_module: Callable[[str], object]) -> dict[str, Demo]:
    """Every folder's `demo` (its demo.py), by folder name, in name order."""
    names = sorted(path.parent.name for path in defs_dir.glob("*/demo.py"))
    return {name: import_module(f"pipeline.defs.{name}.demo").demo for name in names}


def run_demo(
    demos: Mapping[str, Demo],
    build: Callable[[Settings], tuple[Settings, dg.Definitions, dict]],
    environ: Mapping[str, str],
    folder: Path,
    group: str | None = None,
) -> int:
    """`make demo`: each pipeline's sample data under `folder`, its services up, every group materialized into the
    settings' instance (or only `group`'s), the freshness checks of the pipelines that ask, a summary; 0 when
    every run is ok.

    The variables the demo's data needs are recorded beside the instance (demo.env), for `make ui`."""
    settings = Settings.from_env(environ)
    if group is not None:
        if group not in demos:
            raise UsageError(f"no demo for {group!r}; the pipelines with one are: {', '.join(demos)}")
        demos = {group: demos[group]}
    today = dt.datetime.now(dt.UTC).date()
    variables: dict[str, str] = {}
    for demo in demos.values():
        variables.update(demo.prepare(folder, today))
    for name, value in variables.items():
        mine = (environ.get(name) or "").strip()
        if mine and mine != value:
            print(f"demo: using {name}={value}, not your {name}={mine}")
    _fresh_demo_warehouse(settings)
    ensure_dagster_home(settings.dagster_home)
    recorded = record_demo_environment(settings.dagster_home, variables)
    with served(demos) as services, local_instance(settings) as instance:
        settings, defs, ranges = build(Settings.from_env({**environ, **variables, **services}))
        groups, runs = materialize_groups(defs, instance, group, data_ranges=ranges)
        checked = [name for name, demo in demos.items() if demo.freshness_checks and name in groups]
        if checked:
            runs.append(_evaluate_freshness_checks(defs, instance, checked))
    print_summary(runs, groups, defs, settings)
    ui = f"make ui SANDBOX={settings.sandbox}" if settings.sandbox else "make ui"
    print(
        "\nOpen the UI to see these runs, their logs, the asset graph and the checks:\n"
        f"  {ui:<14} (dg dev on http://127.0.0.1:3000, DAGSTER_HOME={settings.dagster_home},\n"
        f"                  with the demo's settings from {recorded})"
    )
    return 0 if all_ok(runs) else 1


def _fresh_demo_warehouse(settings: Settings) -> None:
    """Start the local default DuckDB file afresh: the demo's days move with the date, and an earlier
    demo's days left in it would swell its tables beyond the lake. A warehouse you configured is kept."""
    default = Path(Settings.model_fields["duckdb_path"].default)
    if settings.warehouse != "duckdb" or Path(settings.duckdb_path).resolve() != default.resolve():
        return
    removed = [path for path in (default, default.with_name(default.name + ".wal")) if path.exists()]
    for path in removed:
        path.unlink()
    if removed:
        print(f"Warehouse: a fresh {default} (an earlier demo's days went with the old one)")


def _evaluate_freshness_checks(defs: dg.Definitions, instance: dg.DagsterInstance, groups: list[str]):
    """The groups' freshness checks in a run of their own, as their sensors (stopped on a laptop) would run them.

    Not the weather pipeline's: the demo loads only the hour that just ended, and before half past the hour
    its check expects the hour before, which a fresh demo never fetched and the APIs no longer serve."""
    job = freshness_checks_job(defs, groups, f"{'_'.join(groups)}_freshness_checks")
    sensors = " and ".join(f"{group}_freshness_checks_sensor" for group in groups)
    print(f"Evaluating the freshness checks ({job.name}), as {sensors} does on the clock")
    return job.name, run_job(job.name, dg.Definitions.merge(defs, dg.Definitions(jobs=[job])), instance)
