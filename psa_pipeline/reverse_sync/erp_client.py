"""NetSuite record writes: upsert an invoice or a credit memo by external id, and read it back.

A PUT by external id is idempotent, so transport failures (429 with Retry-After, 5xx, dropped
connections, time-outs) are retried with exponential backoff and jitter, a bounded number of
times; when they run out the ERP is `ErpUnavailable` and the write stays pending for a later sync.
Any other 4xx is the ERP refusing the record: returned to the caller to dead-letter.
Requests are signed as the NetSuite source signs its reads (token-based auth, OAuth 1.0a with
HMAC-SHA256, or an OAuth 2.0 bearer token: `psa_pipeline.sources.netsuite.netsuite_auth`); each
retry is signed afresh, with a new nonce. Every attempt at a write carries the write's
correlation id (`X-Correlation-ID`), the same across retries, as the ledger records it.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

import requests

RETRYABLE_STATUSES = (429, 500, 502, 503, 504)
CORRELATION_HEADER = "X-Correlation-ID"


class ErpUnavailable(Exception):
    """The ERP did not answer usefully after every retry; try again in a later sync."""


class ErpLoginRefused(ErpUnavailable):
    """The ERP refused the credential (401): no record is to blame, so none is dead-lettered;
    the writes stay pending until the credential is fixed."""


@dataclass(frozen=True)
class Refusal:
    status: int
    detail: str


class ErpClient:
    def __init__(
        self,
        base_url: str,
        auth: requests.auth.AuthBase,
        retries: int = 5,
        backoff: float = 0.5,
        timeout: float = 30.0,
    ):
        self.base_url = base_url.rstrip("/") + "/services/rest/record/v1"
        self.timeout = timeout
        self.retries, self.backoff = retries, backoff
        self.session = requests.Session()
        self.session.auth = auth

    def upsert(
        self, record_type: str, external_id: str, record: dict, correlation_id: str
    ) -> Refusal | None:
        """None when the ERP holds the record; a Refusal when it will not take it."""
        response = self._call(
            "PUT",
            record_type,
            external_id,
            json=record,
            headers={CORRELATION_HEADER: correlation_id},
        )
        if response.ok:
            return None
        return Refusal(response.status_code, _error_detail(response))

    def read(self, record_type: str, external_id: str) -> dict | None:
        response = self._call("GET", record_type, external_id)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.json()

    def _call(self, method: str, record_type: str, external_id: str, **kwargs) -> requests.Response:
        """The ERP's answer, retried (each attempt a new request, so TBA signs it afresh:
        NetSuite refuses a nonce it has seen) while the ERP is throttling, failing or silent."""
        url = f"{self.base_url}/{record_type}/eid:{external_id}"
        response: requests.Response | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self._wait(attempt, response))
            try:
                response = self.session.request(method, url, timeout=self.timeout, **kwargs)
            except requests.RequestException as error:
                if attempt == self.retries:
                    raise ErpUnavailable(f"{method} {external_id}: {error}") from error
                response = None
                continue
            if response.status_code not in RETRYABLE_STATUSES:
                break
        assert response is not None  # the last attempt returned or raised
        if response.status_code in RETRYABLE_STATUSES:
            raise ErpUnavailable(
                f"{method} {external_id}: HTTP {response.status_code} after retries"
            )
        if response.status_code == 401:
            raise ErpLoginRefused(
                f"{method} {external_id}: the ERP refused the credential (401: "
                f"{_error_detail(response)}); check SOURCES__NETSUITE__* (TBA or OAuth 2.0)"
            )
        return response

    def _wait(self, attempt: int, response: requests.Response | None) -> float:
        """Retry-After when the ERP gives one, else exponential backoff with full jitter."""
        after = response.headers.get("Retry-After", "") if response is not None else ""
        if after.isdigit():
            return float(after)
        return random.uniform(0, self.backoff * 2 ** (attempt - 1))


def _error_detail(response: requests.Response) -> str:
    try:
        details = response.json().get("o:errorDetails", [])
        return "; ".join(d.get("detail", "") for d in details) or response.text[:500]
    except ValueError:
        return response.text[:500]
