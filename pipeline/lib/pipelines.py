"""A pipeline as a value: what a folder under pipeline/defs/ builds from the settings when the code location loads.

Each folder has a `definitions.py` with `build(settings) -> Pipeline` and, for a pipeline with settings of its
own, `SETTINGS` (its PipelineSettings class), which pipeline/definitions.py resolves first so that dbt, the
tasks' templates and maintenance see every pipeline's variables and schemas.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dagster as dg

# What dg.define_asset_job returns: dagster does not export its class (UnresolvedAssetJobDefinition).
AssetJob = Any


@dataclass(frozen=True)
class Pipeline:
    """A folder's definitions, and the partitions its lake holds: the range `python -m pipeline materialize`
    runs for its group when no --start/--end is given (without one, every partition)."""

    defs: dg.Definitions
    group: str | None = None
    data_range: Callable[[], tuple[str, str]] | None = None


class NoData(Exception):
    """A pipeline's lake holds nothing to materialize; the message says where it looked and what to do."""
