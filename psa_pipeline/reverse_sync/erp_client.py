"""NetSuite record writes: upsert an invoice by external id.

A PUT by external id is idempotent, so transport failures (429 with Retry-After, 5xx, dropped
connections) are retried with exponential backoff and jitter, a bounded number of times. A 4xx
other than 429 is the ERP refusing the record: not retried, returned to the caller to dead-letter.
"""

from __future__ import annotations

from dataclasses import dataclass

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

RETRYABLE_STATUSES = (429, 500, 502, 503, 504)


@dataclass(frozen=True)
class WriteResult:
    ok: bool
    status: int
    detail: str


class ErpClient:
    def __init__(
        self,
        base_url: str,
        access_token: str,
        retries: int = 5,
        backoff: float = 0.5,
        timeout: float = 30.0,
    ):
        self.base_url = base_url.rstrip("/") + "/services/rest/record/v1"
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {access_token}"
        retry = Retry(
            total=retries,
            backoff_factor=backoff,
            backoff_jitter=backoff,
            status_forcelist=RETRYABLE_STATUSES,
            allowed_methods={"GET", "PUT"},
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        self.session.mount("http://", HTTPAdapter(max_retries=retry))
        self.session.mount("https://", HTTPAdapter(max_retries=retry))

    def upsert_invoice(self, external_id: str, record: dict) -> WriteResult:
        response = self.session.put(
            f"{self.base_url}/invoice/eid:{external_id}", json=record, timeout=self.timeout
        )
        if response.ok:
            return WriteResult(True, response.status_code, response.headers.get("Location", ""))
        return WriteResult(False, response.status_code, _error_detail(response))


def _error_detail(response: requests.Response) -> str:
    try:
        details = response.json().get("o:errorDetails", [])
        return "; ".join(d.get("detail", "") for d in details) or response.text[:500]
    except ValueError:
        return response.text[:500]
