"""Harvest API v2: time entries.

Harvest wants the bearer token, the `Harvest-Account-Id` header and a User-Agent naming the
app. Pages follow `links.next` (a full URL, null on the last page); `updated_since` makes runs
incremental. Hours and rates arrive as JSON numbers and are stored as DECIMAL.
"""

from __future__ import annotations

import dlt
from dlt.sources.helpers.rest_client.paginators import JSONLinkPaginator
from dlt.sources.rest_api import RESTAPIConfig, rest_api_resources

from psa_pipeline.sources import INITIAL_CURSOR

PAGE_SIZE = 2000  # Harvest's maximum
USER_AGENT = "PSA Pipeline (https://github.com/psa-pipeline/psa-pipeline)"


def _without_null_invoice(entry: dict) -> dict:
    """`invoice` is null until Harvest invoices the entry; then it flattens to invoice__id."""
    if entry.get("invoice") is None:
        entry.pop("invoice", None)
    return entry


@dlt.source(name="harvest")
def harvest_source(
    base_url: str = dlt.config.value,
    access_token: str = dlt.secrets.value,
    account_id: str = dlt.config.value,
):
    """Yields `time_entries`: one row per entry, user / client / project / task flattened."""
    config: RESTAPIConfig = {
        "client": {
            "base_url": base_url.rstrip("/") + "/",
            "auth": {"type": "bearer", "token": access_token},
            "headers": {"Harvest-Account-Id": account_id, "User-Agent": USER_AGENT},
        },
        "resource_defaults": {"write_disposition": "merge", "primary_key": "id"},
        "resources": [
            {
                "name": "time_entries",
                "endpoint": {
                    "path": "v2/time_entries",
                    "params": {"per_page": PAGE_SIZE, "updated_since": "{incremental.start_value}"},
                    "paginator": JSONLinkPaginator(next_url_path="links.next"),
                    "data_selector": "time_entries",
                    "incremental": {"cursor_path": "updated_at", "initial_value": INITIAL_CURSOR},
                },
                # dlt writes the column name into each hint dict, so every column gets its own
                "columns": {
                    **{
                        column: {"data_type": "decimal", "precision": 18, "scale": 4}
                        for column in ("hours", "rounded_hours", "billable_rate", "cost_rate")
                    },
                    "invoice__id": {"data_type": "bigint"},
                    "external_reference": {"data_type": "json"},
                },
                "processing_steps": [{"map": _without_null_invoice}],
            },
        ],
    }
    yield from rest_api_resources(config)
