"""Retries for transient faults: one policy for every step, configured by environment variables.

The original retried 3 times, 5 minutes apart. Here the delay grows exponentially with jitter, so a
throttled S3 or a restarting warehouse is not hit by every retry at once. Data errors (a malformed
file, a failed blocking check) raise `dg.Failure(allow_retries=False)` and fail at once.
"""

import dagster as dg

from pipeline.settings import env


def retry_policy() -> dg.RetryPolicy:
    """SPARKIFY_RETRY_MAX retries (3), the first after SPARKIFY_RETRY_DELAY_SECONDS (300), then doubling, ± jitter."""
    max_retries = int(env("SPARKIFY_RETRY_MAX"))
    delay = float(env("SPARKIFY_RETRY_DELAY_SECONDS"))
    if max_retries < 0 or delay < 0:
        raise ValueError("SPARKIFY_RETRY_MAX and SPARKIFY_RETRY_DELAY_SECONDS must not be negative")
    return dg.RetryPolicy(max_retries=max_retries, delay=delay, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)
