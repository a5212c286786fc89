"""Where a measurement runs: its own lake, warehouse file and Dagster instance under the benchmark's folder.

The pipeline reads its configuration from the environment, so a sandbox is a set of variables that
are in force while it is entered. Runs go through the same code as `python -m pipeline materialize`.
"""

import contextlib
import datetime as dt
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.lib.settings import environment

if TYPE_CHECKING:
    from pipeline.lib.materialize import Outcome


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

    @contextlib.contextmanager
    def entered(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with environment(**self.variables()):
            yield

    def run_days(self, days: list[dt.date]) -> float:
        """Seconds for one run of sparkify_daily over the days, as one partition range; raises if the run fails."""
        from pipeline.lib.materialize import run_job

        first, last = days[0].isoformat(), days[-1].isoformat()
        return self._timed(lambda: run_job("sparkify_daily", (first, last)), f"sparkify_daily over {first}..{last}")

    def run(self, job: str, first: str, last: str, defs=None) -> float:
        """Seconds for one run of any partitioned job over [first, last]; raises if the run fails."""
        from pipeline.lib.materialize import run_job

        return self._timed(lambda: run_job(job, (first, last), defs=defs), f"{job} over {first}..{last}")

    def load_songs(self) -> float:
        """Seconds for one run of sparkify_songs (the song catalogue); raises if the run fails."""
        from pipeline.lib.materialize import run_job

        return self._timed(lambda: run_job("sparkify_songs"), "sparkify_songs")

    def _timed(self, run: Callable[[], "Outcome"], label: str) -> float:
        with self.entered(), open(self.root / "bench.log", "a") as log, contextlib.redirect_stdout(log):
            began = time.perf_counter()
            outcome = run()
            seconds = time.perf_counter() - began
        if not outcome.ok:
            raise RuntimeError(f"{label} in {self.root} failed: {'; '.join(outcome.errors)}")
        return seconds
