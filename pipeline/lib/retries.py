"""Retries for transient faults: one policy for every step, configured by environment variables.

The original retried 3 times, 5 minutes apart. Here the delay grows exponentially with jitter, so a
throttled S3 or a restarting warehouse is not hit by every retry at once. Only faults on the allow-list
of pipeline/lib/transient.py are retried; everything else (a data error, a failed check, a decode error,
a bug) fails the step at once with its own message, instead of sitting through half an hour of retries.

Steps take the policy through `@retried_on_fault`, not through the `retry_policy=` argument of an asset:
Dagster applies an op's RetryPolicy to interrupts too, so a step running when the host stops (SIGTERM)
would be put up for retry and the run worker would sleep waiting for it, leaving the run STARTED while
the host is down. Raising `dg.RetryRequested` for exceptions only lets an interrupt end the run as
UNEXPECTED_TERMINATION, which the instance's run retries re-execute (deploy/dagster.yaml), while a
step failure (a data error, or a fault that outlived its retries) is not run again.
"""

import contextlib
import functools
import inspect
from collections.abc import Callable, Iterator

import dagster as dg

from pipeline.lib.settings import Settings
from pipeline.lib.transient import is_transient


def retry_policy(settings: Settings | None = None) -> dg.RetryPolicy:
    """RETRY_MAX retries (3), the first after RETRY_DELAY_SECONDS (300), then doubling, ± jitter.

    Resolved when a fault happens (in the step's process, whose environment is the run's), not when the
    definitions load: a step's body is decorated once, whatever the settings its definitions were built from."""
    settings = settings or Settings.from_env()
    return dg.RetryPolicy(
        max_retries=settings.retry_max,
        delay=settings.retry_delay_seconds,
        backoff=dg.Backoff.EXPONENTIAL,
        jitter=dg.Jitter.PLUS_MINUS,
    )


def retry_request(fault: Exception) -> dg.RetryRequested | None:
    """The retry a step asks for after this exception under the current policy; None unless it is transient."""
    if isinstance(fault, dg.RetryRequested) or not is_transient(fault):
        return None
    policy = retry_policy()
    attempt = dg.OpExecutionContext.get().retry_number + 1
    return dg.RetryRequested(max_retries=policy.max_retries, seconds_to_wait=policy.calculate_delay(attempt))


@contextlib.contextmanager
def _faults_as_retry_requests() -> Iterator[None]:
    """A transient fault inside becomes the policy's RetryRequested; any other exception stays as it is."""
    try:
        yield
    except Exception as fault:
        request = retry_request(fault)
        if request is None:
            raise
        raise request from fault


def retried_on_fault(compute: Callable) -> Callable:
    """Decorate an asset's or check's body: transient faults are retried by `retry_policy()`, nothing else is.

    Interrupts (DagsterExecutionInterruptedError, KeyboardInterrupt) are BaseExceptions, not Exceptions,
    so they pass through untouched. Works for plain and generator bodies (the dbt assets stream events).
    `functools.wraps` keeps the body in `__wrapped__`: Dagster reads the step's signature through it, and the
    asset's code reference its file and line (pipeline/lib/code_references.py), not this module's.
    """
    if inspect.isgeneratorfunction(compute):

        @functools.wraps(compute)
        def streamed(*args, **kwargs):
            with _faults_as_retry_requests():
                yield from compute(*args, **kwargs)

        return streamed

    @functools.wraps(compute)
    def returned(*args, **kwargs):
        with _faults_as_retry_requests():
            return compute(*args, **kwargs)

    return returned
