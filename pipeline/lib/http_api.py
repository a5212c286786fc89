"""A client for rate-limited JSON APIs: httpx for the requests, tenacity for the retries, a shared token bucket.

What a paid API plan asks of a client: never more than its requests per second (the bucket is shared by
every thread of a run, so concurrency fills the allowance and never exceeds it); on 429 and 5xx, wait what
`Retry-After` says, else back off exponentially with jitter, within a budget of attempts and seconds; time
out on connect and read. A response that is not 2xx, or not JSON, is never returned as data: it raises
ApiError naming what was asked, the status and an excerpt of the body.
"""

from __future__ import annotations

import email.utils
import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

import httpx
import tenacity

# Connect quickly or give up (the retry will try again); a slow answer may take longer.
TIMEOUT = httpx.Timeout(30.0, connect=5.0)
# What a body excerpt in an error may hold: enough to recognise {"message": "Too many requests"}.
EXCERPT_CHARS = 200


class ApiError(Exception):
    """A request that did not return usable data, after its retries. `status` is None for a transport error."""

    def __init__(self, what: str, status: int | None, detail: str):
        where = f"HTTP {status}" if status is not None else "no response"
        super().__init__(f"{what}: {where}: {detail}")
        self.what, self.status, self.detail = what, status, detail

    @property
    def retryable(self) -> bool:
        """Worth asking again later (a 429, a 5xx, a connection that failed); a 4xx or a bad body is not."""
        return self.status is None or self.status == 429 or self.status >= 500


class RateLimiter:
    """A token bucket: at most `per_second` acquisitions in any second, across threads (no bursts above it)."""

    def __init__(self, per_second: float):
        if per_second <= 0:
            raise ValueError(f"requests per second must be positive, not {per_second}")
        self._interval = 1.0 / per_second
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self._interval
        if slot > now:
            time.sleep(slot - now)


def _excerpt(body: bytes) -> str:
    text = body.decode("utf-8", errors="replace").strip().replace("\n", " ")
    return repr(text[:EXCERPT_CHARS] + ("…" if len(text) > EXCERPT_CHARS else ""))


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The server's Retry-After (seconds, or an HTTP date), if it sent one."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time()) if when else None


@dataclass(frozen=True)
class RetryBudget:
    attempts: int = 5  # requests per call, the first included
    seconds: float = 120.0  # time one call may spend waiting and retrying
    backoff_initial: float = 1.0
    backoff_max: float = 30.0


class _Retryable(Exception):
    def __init__(self, error: ApiError, wait: float | None):
        super().__init__(str(error))
        self.error, self.wait = error, wait


class _WaitRetryAfter(tenacity.wait.wait_base):
    """Retry-After when the server said; otherwise the fallback (exponential with jitter)."""

    def __init__(self, fallback: tenacity.wait.wait_base):
        self._fallback = fallback

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        fault = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(fault, _Retryable) and fault.wait is not None:
            return fault.wait
        return self._fallback(retry_state)


class ApiClient:
    """GETs JSON from one API, within its rate limit and retry budget. Thread-safe: one per run."""

    def __init__(
        self,
        limiter: RateLimiter,
        headers: Mapping[str, str] | None = None,
        budget: RetryBudget = RetryBudget(),
        timeout: httpx.Timeout = TIMEOUT,
    ):
        self._limiter, self._budget = limiter, budget
        self._http = httpx.Client(headers=dict(headers or {}), timeout=timeout, follow_redirects=True)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def get_json(self, url: str, what: str, params: Mapping[str, str] | None = None) -> tuple[bytes, object]:
        """(the body as received, its parsed JSON) of a 2xx answer; ApiError once the budget is spent."""
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(_Retryable),
            wait=_WaitRetryAfter(
                tenacity.wait_exponential_jitter(initial=self._budget.backoff_initial, max=self._budget.backoff_max)
            ),
            stop=tenacity.stop_after_attempt(self._budget.attempts) | tenacity.stop_after_delay(self._budget.seconds),
            reraise=True,
        )
        try:
            return retrying(self._get_once, url, what, params)
        except _Retryable as exc:
            raise exc.error from None

    def _get_once(self, url: str, what: str, params: Mapping[str, str] | None) -> tuple[bytes, object]:
        self._limiter.acquire()
        try:
            response = self._http.get(url, params=params)
        except httpx.TransportError as exc:  # connect or read timeout, connection refused or reset
            raise _Retryable(ApiError(what, None, f"{type(exc).__name__}: {exc}"), None) from exc
        body = response.content
        if not response.is_success:
            error = ApiError(what, response.status_code, _excerpt(body))
            if error.retryable:
                raise _Retryable(error, retry_after_seconds(response))
            raise error
        try:
            return body, json.loads(body)
        except ValueError as exc:  # a 200 whose body is not JSON (a proxy's HTML page, a cut-off answer)
            raise ApiError(what, response.status_code, f"the body is not JSON ({exc}): {_excerpt(body)}") from None
