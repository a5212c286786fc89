"""The local Dagster instance in DAGSTER_HOME that the platform's commands and `dagster dev` share.

Runs, event logs and schedules live in SQLite files there. Production uses deploy/dagster.yaml instead;
both keep ticks for the same time (INSTANCE_RETENTION_FILE, the `retention:` block the daemon applies).
"""

import os
from pathlib import Path

INSTANCE_RETENTION_FILE = Path(__file__).with_name("instance_retention.yaml")

# One run at a time: the embedded DuckDB file takes one writer, and backfills of a job launch one run per day.
LOCAL_INSTANCE_CONFIG = """\
telemetry:
  enabled: false
concurrency:
  runs:
    max_concurrent_runs: 1
"""


def ensure_dagster_home() -> None:
    """DAGSTER_HOME exists and has a dagster.yaml; the local default keeps everything in that folder."""
    home = Path(os.environ["DAGSTER_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(LOCAL_INSTANCE_CONFIG + INSTANCE_RETENTION_FILE.read_text())
