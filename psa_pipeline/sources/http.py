"""The HTTP session every source talks through: bounded retries, and a failure that says who.

dlt's default rest_api session already retries, but its exponential backoff has no jitter (the
resources of a system that meet one outage retry in step), and when it gives up the run fails
with the last `HTTPError` or `ConnectionError`, which names neither the system nor how long it
tried. `RetryingSession` keeps dlt's session (timeout, User-Agent) and retries each request
itself:

- 429 and 503 wait as long as the answer's Retry-After says (seconds or an HTTP date), capped
  at `max_delay_s`; without a usable Retry-After they back off like the rest;
- other 5xx, refused or dropped connections (a body cut short surfaces as requests'
  `ChunkedEncodingError`) and timeouts back off exponentially with full jitter;
- other 4xx are answers, not outages: they go back to the caller untouched;
- after `max_attempts` attempts it raises `SourceUnavailable`. dlt then fails the extract step
  and commits neither the pages it read nor the cursor, so the next run starts from the cursor
  of the last load that finished.

Every source only reads (SuiteQL and HubSpot search are POSTs, but queries), so resending a
request is always safe. The policy comes from dlt config (`[sources.retry]` in config.toml, or
`SOURCES__RETRY__MAX_ATTEMPTS`, `__BASE_DELAY_S`, `__MAX_DELAY_S`, `__TIMEOUT_S`), read when the
session sends its first request, not when a source is built.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import dlt
import requests
from dlt.sources.helpers.requests import Session

logger = logging.getLogger(__name__)

THROTTLED = frozenset({429, 503})  # the statuses that come with a Retry-After
# refused or reset connections, timeouts, and bodies cut short (urllib3's IncompleteRead)
TRANSIENT_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)
CONFIG_SECTION = "sources.retry"
# HubSpot's 429 carries no Retry-After, only its rolling window (changelog 2018-11-06)
RATE_LIMIT_WINDOW_MS = "X-HubSpot-RateLimit-Interval-Milliseconds"


@dataclass(frozen=True)
class RetryPolicy:
    """How hard a source tries one request before the run fails.

    With the defaults a request that keeps failing gives up after at most 15.5 s of backoff
    (0.5 + 1 + 2 + 4 + 8, half that on average), or up to 5 x 30 s when the vendor keeps asking
    for more with Retry-After: long enough for a blip or a rate-limit window, short enough that
    a nightly run reports an outage instead of hanging on it.
    """

    max_attempts: int = 6
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    timeout_s: float = 60.0  # per attempt: connect, and each wait for bytes of the answer

    def __post_init__(self):
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {self.max_attempts}")
        if min(self.base_delay_s, self.max_delay_s) < 0 or self.timeout_s <= 0:
            raise ValueError(f"delays must be >= 0 and the timeout > 0: {self}")

    @classmethod
    def from_config(cls) -> RetryPolicy:
        """The policy from dlt config (`sources.retry.<field>`), defaults for what is unset."""
        overrides = {}
        for field in dataclasses.fields(cls):
            value = dlt.config.get(f"{CONFIG_SECTION}.{field.name}")
            if value is not None:
                overrides[field.name] = (int if field.name == "max_attempts" else float)(value)
        return cls(**overrides)

    def ceiling(self, failures: int) -> float:
        """The longest wait after the `failures`-th failed attempt: base * 2^(failures-1), capped."""
        return min(self.max_delay_s, self.base_delay_s * 2 ** (failures - 1))

    def backoff(self, failures: int, rng: random.Random | None = None) -> float:
        """Full jitter: a uniform draw in [0, ceiling], so clients that failed together spread
        out instead of coming back at the same instant."""
        return (rng or random).uniform(0, self.ceiling(failures))

    def throttled_wait(self, retry_after: str | None, failures: int) -> float:
        """Retry-After, capped at `max_delay_s`; the backoff if the header is missing or bad."""
        seconds = retry_after_seconds(retry_after)
        return self.backoff(failures) if seconds is None else min(seconds, self.max_delay_s)


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date (RFC 9110)."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # an HTTP date is always GMT; parsedate leaves "-0000" naive
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class SourceUnavailable(Exception):
    """A source system kept failing one request until the retry policy ran out."""

    def __init__(
        self,
        system: str,
        method: str,
        path: str,
        attempts: int,
        elapsed_s: float,
        last: str,
    ):
        self.system, self.method, self.path = system, method, path
        self.attempts, self.elapsed_s, self.last = attempts, elapsed_s, last
        super().__init__(
            f"{system} is unavailable: {method} {path} failed {attempts} times in "
            f"{elapsed_s:.1f} s, the last with {last}. The retries are spent (sources.retry."
            f"max_attempts, env SOURCES__RETRY__MAX_ATTEMPTS); nothing from this run of "
            f"{system} is loaded and its incremental cursors stay where the last finished load "
            f"left them, so the next run asks again from there."
        )


class RetryingSession(Session):
    """dlt's requests session for one source system, retrying each request by `RetryPolicy`.

    rest_api sends through `send`, with the resource's response hooks on the request; those
    hooks (dlt's raise-for-status among them) run once per attempt, so an error status arrives
    here either as a response or as the `HTTPError` a hook raised for it.
    """

    # what a copy keeps: rest_api deep-copies its config (session included) to validate it
    __attrs__ = [*Session.__attrs__, "timeout", "raise_for_status", "system", "_policy"]

    def __init__(self, system: str, policy: RetryPolicy | None = None):
        super().__init__(raise_for_status=False)
        self.timeout = None  # the policy's, which is read at the first request
        self.system = system
        self._policy = policy

    @property
    def policy(self) -> RetryPolicy:
        if self._policy is None:
            self._policy = RetryPolicy.from_config()
        return self._policy

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        policy = self.policy
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = policy.timeout_s
        method, path = request.method or "GET", urlsplit(request.url or "").path
        started, attempt = time.monotonic(), 0
        while True:
            attempt += 1
            try:
                response = super().send(request, **kwargs)
            except requests.HTTPError as error:
                if error.response is None or not _retryable(error.response.status_code):
                    raise
                response, failure = error.response, error
            except TRANSIENT_ERRORS as error:
                response, failure = None, error
            else:
                if not _retryable(response.status_code):
                    return response
                failure = None
            last = _describe(response, failure)
            if attempt == policy.max_attempts:
                elapsed = time.monotonic() - started
                raise SourceUnavailable(
                    self.system, method, path, attempt, elapsed, last
                ) from failure
            if response is not None and response.status_code in THROTTLED:
                wait = policy.throttled_wait(_retry_after(response), attempt)
            else:
                wait = policy.backoff(attempt)
            if response is not None:
                response.close()
            logger.warning(
                "%s: %s %s: %s; attempt %d of %d in %.2f s",
                self.system,
                method,
                path,
                last,
                attempt + 1,
                policy.max_attempts,
                wait,
            )
            time.sleep(wait)
            sign_again(request)


def sign_again(request: requests.PreparedRequest) -> None:
    """A request whose auth signs it once (NetSuite's TBA: a nonce used once, a timestamp) is
    signed again before it is resent, or the vendor refuses the replay; the auth leaves itself
    on the request as `sign_again` (a bearer token or an API key needs nothing)."""
    auth = getattr(request, "sign_again", None)
    if auth is not None:
        request.headers.pop("Authorization", None)
        auth(request)


def _retry_after(response: requests.Response) -> str | None:
    """Retry-After; or, where a vendor throttles without it (HubSpot's 429), the length of the
    rate-limit window it names, in whole seconds rounded up: waiting one window is enough."""
    if response.headers.get("Retry-After"):
        return response.headers["Retry-After"]
    window_ms = response.headers.get(RATE_LIMIT_WINDOW_MS, "")
    return str(-(-int(window_ms) // 1000)) if window_ms.isdigit() else None


def _retryable(status: int) -> bool:
    return status in THROTTLED or status >= 500


def _describe(response: requests.Response | None, error: BaseException | None) -> str:
    if response is not None:
        return f"{response.status_code} {response.reason or ''}".strip()
    return f"{type(error).__name__}: {error}"
