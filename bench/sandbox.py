"""Where a measurement runs: its own lake, warehouse file and Dagster instance under the benchmark's folder.

The pipeline's configuration is a value (pipeline/lib/settings.py's `Settings`, resolved from a mapping of
variables): a sandbox is a set of variables, its definitions are built once from this process's environment
with those variables over it (before any run is timed), and its runs go through the instance in its own
DAGSTER_HOME, as `python -m pipeline materialize` does. Its variables are also set in this process while it is
entered, for what still reads the environment at run time (dbt's DBT_TARGET_PATH, which dagster-dbt reads).
"""

import contextlib
import datetime as dt
import functools
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import dagster as dg

    from pipeline.lib.materialize import DataRanges, Outcome
    from pipeline.lib.settings import Settings


@contextlib.contextmanager
def environment(**variables: str) -> Iterator[None]:
    """These variables set in this process while inside; the previous values restored after. The benchmark's
    own: what it measures reads some of them (a child process, dbt, boto3's credentials and endpoint)."""
    before = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def default_settings() -> "Settings":
    """The settings of this process's environment (a fresh clone's defaults where nothing is set)."""
    from pipeline.lib.settings import Settings

    return Settings.from_env()


def definitions_of_variables(variables: Mapping[str, str]) -> "dg.Definitions":
    """The code location built from these variables alone (a fresh clone's defaults for the rest, whatever this
    process's environment holds): for the assets and sensors a figure runs outside a sandbox (figures 5 and 6),
    whose tables are then in their default schemas."""
    from pipeline.code_location import build_definitions
    from pipeline.lib.settings import Settings

    return build_definitions(Settings.from_env(variables))


@dataclass(frozen=True)
class Sandbox:
    """A warehouse file and a Dagster instance of their own, over a lake."""

    root: Path
    data_uri: str
    extension_dir: Path
    api_data_uri: str | None = None  # the weather pipeline's lake (API_DATA_URI), for its figures
    nyc_taxi_data_uri: str | None = None  # the NYC-taxi pipeline's lake (NYC_TAXI_DATA_URI), for its figures
    first_day: str | None = None  # the first daily partition (SPARKIFY_FIRST_DAY), for the whole-process figures

    def variables(self) -> dict[str, str]:
        return {
            "SPARKIFY_DATA_URI": self.data_uri,
            **({"API_DATA_URI": self.api_data_uri} if self.api_data_uri else {}),
            **({"NYC_TAXI_DATA_URI": self.nyc_taxi_data_uri} if self.nyc_taxi_data_uri else {}),
            **({"SPARKIFY_FIRST_DAY": self.first_day} if self.first_day else {}),
            "WAREHOUSE": "duckdb",
            "DUCKDB_PATH": str(self.root / "warehouse.duckdb"),
            "DUCKDB_EXTENSION_DIR": str(self.extension_dir),
            "DAGSTER_HOME": str(self.root / "dagster_home"),
            "RETRY_MAX": "0",  # a fault fails the measurement instead of hiding in a retry
            # dbt's partial-parse state is valid for one warehouse file: each sandbox keeps its own, as
            # one deployment does (pipeline/lib/dbt/manifest.py), instead of re-parsing at every switch.
            "DBT_TARGET_PATH": str(self.root / "dbt_target"),
        }

    def settings(self) -> "Settings":
        """The platform's settings in the sandbox: this process's environment with the sandbox's variables over it."""
        from pipeline.lib.settings import Settings

        return Settings.from_env({**os.environ, **self.variables()})

    @functools.cached_property
    def built(self) -> tuple["Settings", "dg.Definitions", "DataRanges"]:
        """(the completed settings, the definitions, each group's data range), built on first use, from the
        environment as it is then (a figure that sets variables of its own builds inside them), never again."""
        from pipeline.code_location import build_pipelines, data_ranges, definitions_of

        settings, pipelines = build_pipelines(self.settings())
        return settings, definitions_of(settings, pipelines), data_ranges(pipelines)

    def definitions(self) -> "dg.Definitions":
        return self.built[1]

    @contextlib.contextmanager
    def entered(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with environment(**self.variables()):
            yield

    def run_days(self, days: list[dt.date]) -> float:
        """Seconds for one run of sparkify_daily over the days, as one partition range; raises if the run fails."""
        return self.run("sparkify_daily", days[0].isoformat(), days[-1].isoformat())

    def run(self, job: str, first: str, last: str, defs: "dg.Definitions | None" = None) -> float:
        """Seconds for one run of any partitioned job over [first, last] (of the sandbox's definitions, or of
        `defs` built from its settings); raises if the run fails."""
        return self._timed(job, (first, last), defs, f"{job} over {first}..{last}")

    def load_songs(self) -> float:
        """Seconds for one run of sparkify_songs (the song catalogue); raises if the run fails."""
        return self._timed("sparkify_songs", None, None, "sparkify_songs")

    def timed_call(self, call: Callable[["dg.DagsterInstance"], bool], label: str) -> float:
        """Seconds for `call` with the sandbox's instance, opened inside the time as a command opens it; the
        definitions are built before (untimed). Raises if it returns False."""
        from pipeline.lib.instance import local_instance

        settings, _, _ = self.built
        with self.entered(), open(self.root / "bench.log", "a") as log, contextlib.redirect_stdout(log):
            began = time.perf_counter()
            with local_instance(settings) as instance:
                ok = call(instance)
            seconds = time.perf_counter() - began
        if not ok:
            raise RuntimeError(f"{label} in {self.root} failed (its log: {self.root / 'bench.log'})")
        return seconds

    def _timed(self, job: str, partitions: tuple[str, str] | None, defs: "dg.Definitions | None", label: str) -> float:
        from pipeline.lib.materialize import run_job

        outcomes: list[Outcome] = []

        def call(instance: "dg.DagsterInstance") -> bool:
            outcomes.append(run_job(job, defs or self.definitions(), instance, partitions))
            return outcomes[-1].ok

        try:
            return self.timed_call(call, label)
        except RuntimeError:
            errors = "; ".join(outcomes[-1].errors) if outcomes else ""
            raise RuntimeError(f"{label} in {self.root} failed: {errors}") from None
