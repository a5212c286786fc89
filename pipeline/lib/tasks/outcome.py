"""What a task's run gives its assets, whichever engine ran it: the figures it reported through dagster-pipes,
its exit code and duration; and how much of its output a failure's message quotes."""

from collections.abc import Iterator, Sequence

import dagster as dg

from pipeline.lib.tasks.spec import TaskSpec

TAIL_LINES = 20  # of the task's output, in the failure's message


def task_results(task: TaskSpec, reported: Sequence[object], metadata: dict) -> Iterator[dg.MaterializeResult]:
    """One result per asset the task produces: what it reported for that asset (or for no key, when it makes one)
    and the run's own figures."""
    by_key = {r.asset_key: r for r in reported if isinstance(r, dg.MaterializeResult)}
    for key in task.keys:
        found = by_key.get(key) or by_key.get(None)
        own = dict(found.metadata or {}) if found else {}
        yield dg.MaterializeResult(asset_key=key, metadata={**own, **metadata})
