"""A client for rate-limited JSON APIs: httpx for the requests, tenacity for the retries, a shared token bucket.

What a paid API plan asks of a client: never more than its requests per second (the bucket is shared by
every thread of a run, so concurrency fills the allowance and never exceeds it); on 429 and 5xx, wait what
`Retry-After` says, else back off exponentially with jitter, within a budget of attempts and seconds. Each
request has a total deadline (connect, headers and the whole body), and its headers (an API key among them)
go only to the origin asked: a redirect is followed within that origin only. A response that is not 2xx, or
not JSON, is never returned as data: it raises ApiError naming what was asked, the status and an excerpt of the body;
nor is JSON that no warehouse stores (parse_json: the one reading of a JSON answer, as of a JSON file).
"""

from __future__ import annotations

import email.utils
import io
import json
import threading
import time
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass

import anyio
import anyio.from_thread
import httpx
import tenacity

from pipeline.lib.json_records import NotJson, first_unstorable
from pipeline.lib.text_lines import find_invalid_utf8

# Connect quickly or give up (the retry will try again). These bound each socket operation only: a body
# trickling a byte at a time resets the read timeout with every byte, so DEADLINE_SECONDS bounds the whole.
TIMEOUT = httpx.Timeout(30.0, connect=5.0)
# One request, from connecting to its last byte (redirects within the origin included).
DEADLINE_SECONDS = 30.0
# Redirects followed within the origin; an API that needs more is misconfigured.
MAX_REDIRECTS = 5
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


def parse_json(body: bytes) -> object:
    """The body's JSON, as every reader of the platform reads a JSON file (docs/guarantees.md): a UTF-8 byte-order
    mark skipped; ValueError naming what is not data: bytes that are not UTF-8 (line and column), text that is not
    JSON, or a value no warehouse stores (a NaN, an infinity, a NUL in text), by its path in the document."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        line, problem = find_invalid_utf8(io.BytesIO(body))
        raise ValueError(f"the body, line {line}: {problem}") from None
    try:
        payload = json.loads(text.removeprefix("\ufeff"), parse_constant=NotJson)
    except ValueError as exc:
        raise ValueError(f"the body is not JSON ({exc}): {_excerpt(body)}") from None
    found = first_unstorable(payload)
    if found:
        raise ValueError(f"the body, field {found[0] or 'the document'!r}: {found[1]}")
    return payload


def origin(url: httpx.URL) -> str:
    """scheme://host[:port] (httpx drops a default port, so http://a and http://a:80 are one origin)."""
    return f"{url.scheme}://{url.netloc.decode('ascii')}"


def _shown(url: httpx.URL) -> str:
    # Without its query: some APIs take their key as a query parameter, and errors end up in logs.
    return str(url.copy_with(query=None, fragment=None))


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
    seconds: float = 120.0  # time one call may spend, its attempts (each cut at its deadline) and waits included
    backoff_initial: float = 1.0
    backoff_max: float = 30.0


class _Retryable(Exception):
    def __init__(self, error: ApiError, wait: float | None):
        super().__init__(str(error))
        self.error, self.wait = error, wait


class _DeadlinePassed(Exception):
    pass


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
    """GETs JSON from one API, within its rate limit, retry budget and deadline. Thread-safe: one per run.

    The requests run on an event loop in a thread of the client's own (anyio's blocking portal), because a
    deadline over a whole request is a cancellation: httpx has per-operation timeouts only (an open issue,
    encode/httpx#1450), while an anyio cancel scope cancels connecting, waiting and reading alike. Callers stay
    synchronous and share one connection pool.
    """

    def __init__(
        self,
        limiter: RateLimiter,
        headers: Mapping[str, str] | None = None,
        budget: RetryBudget = RetryBudget(),
        timeout: httpx.Timeout = TIMEOUT,
        deadline: float = DEADLINE_SECONDS,
    ):
        if deadline <= 0:
            raise ValueError(f"a request's deadline must be positive, not {deadline}")
        self._limiter, self._budget, self._deadline = limiter, budget, deadline
        self._stack = ExitStack()
        self._portal = self._stack.enter_context(anyio.from_thread.start_blocking_portal())
        # Redirects are followed by _send, not by httpx: httpx strips only Authorization when leaving the origin,
        # and would send any other secret header (X-RapidAPI-Key) to wherever a redirect points.
        self._http = httpx.AsyncClient(headers=dict(headers or {}), timeout=timeout, follow_redirects=False)
        self._stack.callback(self._portal.call, self._http.aclose)  # before the portal stops (last in, first out)

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc) -> None:
        # Given the exception (an interrupt among them), the portal cancels requests in flight instead of awaiting them.
        self._stack.__exit__(*exc)

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
        # No attempt runs past the budget: a request cut by its deadline at the budget's end is the last one.
        ends = time.monotonic() + self._budget.seconds
        try:
            return retrying(self._get_once, url, what, params, ends)
        except _Retryable as exc:
            raise exc.error from None

    def _get_once(self, url: str, what: str, params: Mapping[str, str] | None, ends: float) -> tuple[bytes, object]:
        self._limiter.acquire()
        seconds = min(self._deadline, ends - time.monotonic())
        request = self._http.build_request("GET", url, params=params)
        try:
            response = self._portal.call(self._get_within, request, what, seconds)
        except _DeadlinePassed as exc:  # transient, like a read timeout
            within = (
                f"its deadline of {self._deadline:g} s"
                if seconds == self._deadline
                else f"the {max(seconds, 0):.2f} s left of its {self._budget.seconds:g} s retry budget"
            )
            detail = f"{_shown(request.url)} did not answer in full within {within}"
            raise _Retryable(ApiError(what, None, detail), None) from exc
        except httpx.TransportError as exc:  # connect or read timeout, connection refused or reset
            raise _Retryable(ApiError(what, None, f"{type(exc).__name__}: {exc}"), None) from exc
        body = response.content
        if not response.is_success:
            error = ApiError(what, response.status_code, _excerpt(body))
            if error.retryable:
                raise _Retryable(error, retry_after_seconds(response))
            raise error
        try:
            return body, parse_json(body)
        except ValueError as exc:  # a 200 that is not data: a proxy's HTML page, a cut-off answer, a NaN
            raise ApiError(what, response.status_code, str(exc)) from None

    async def _get_within(self, request: httpx.Request, what: str, seconds: float) -> httpx.Response:
        """The answer to the request, read in full, or _DeadlinePassed once `seconds` have passed."""
        with anyio.move_on_after(seconds):
            return await self._send(request, what)
        raise _DeadlinePassed

    async def _send(self, request: httpx.Request, what: str) -> httpx.Response:
        """Send, following redirects within the request's origin only.

        The rule for secrets: none of this client's headers ever reaches an origin it was not pointed at. A
        redirect to another origin fails (not retried: the configuration or the API changed), naming both. It
        needs no list of which headers are secret, so a key header added later cannot leak by omission, and it
        never stores an answer from a host nobody configured. (Stripping the secret headers and following
        instead would need that list, and would at best get a 401 from the other host.)
        """
        home = origin(request.url)
        for _ in range(MAX_REDIRECTS + 1):
            response = await self._http.send(request)
            redirect = response.next_request  # set by httpx for a 3xx with a Location, as follow_redirects is off
            if redirect is None:
                return response
            if origin(redirect.url) != home:
                raise ApiError(
                    what,
                    response.status_code,
                    f"{_shown(request.url)} redirected to {origin(redirect.url)}, another origin than {home}: "
                    "not followed, so that the API's headers (its key) go to no other host",
                )
            request = redirect
        raise ApiError(what, response.status_code, f"more than {MAX_REDIRECTS} redirects from {_shown(request.url)}")
