"""Harvest API v2: time entries, expenses, users, clients, projects and tasks.

Harvest wants the bearer token, the `Harvest-Account-Id` header and a User-Agent naming the
app. Pages follow `links.next` (a full URL, null on the last page); `updated_since` makes runs
incremental on every collection. Hours, rates and costs arrive as JSON numbers and are stored as
DECIMAL.
"""

from __future__ import annotations

import dlt
from dlt.sources.helpers.rest_client.paginators import JSONLinkPaginator
from dlt.sources.rest_api import RESTAPIConfig, rest_api_resources

from psa_pipeline.sources import INITIAL_CURSOR

PAGE_SIZE = 2000  # Harvest's maximum
USER_AGENT = "PSA Pipeline (https://github.com/psa-pipeline/psa-pipeline)"


def _without_null_invoice(entry: dict) -> dict:
    """`invoice` is null until Harvest invoices the record; then it flattens to invoice__id."""
    if entry.get("invoice") is None:
        entry.pop("invoice", None)
    return entry


def _collection(name: str, columns: dict | None = None, steps: list | None = None) -> dict:
    """A Harvest collection: `links.next` paging, incremental on `updated_since`, merge on id."""
    return {
        "name": name,
        "endpoint": {
            "path": f"v2/{name}",
            "params": {"per_page": PAGE_SIZE, "updated_since": "{incremental.start_value}"},
            "paginator": JSONLinkPaginator(next_url_path="links.next"),
            "data_selector": name,
            "incremental": {"cursor_path": "updated_at", "initial_value": INITIAL_CURSOR},
        },
        "columns": columns or {},
        "processing_steps": steps or [],
    }


def _decimal(*names: str) -> dict:
    # dlt writes the column name into each hint dict, so every column gets its own
    return {name: {"data_type": "decimal", "precision": 18, "scale": 4} for name in names}


@dlt.source(name="harvest")
def harvest_source(
    base_url: str = dlt.config.value,
    access_token: str = dlt.secrets.value,
    account_id: str = dlt.config.value,
):
    """Yields one table per collection, one row per record, nested objects flattened.

    `time_entries` and `expenses` (user / client / project / task or category flattened to
    `<object>__<field>`; hours, rates and costs as DECIMAL), and the reference data they point
    at: `users`, `clients`, `projects` (with its client) and `tasks`.
    """
    config: RESTAPIConfig = {
        "client": {
            "base_url": base_url.rstrip("/") + "/",
            "auth": {"type": "bearer", "token": access_token},
            "headers": {"Harvest-Account-Id": account_id, "User-Agent": USER_AGENT},
        },
        "resource_defaults": {"write_disposition": "merge", "primary_key": "id"},
        "resources": [
            _collection(
                "time_entries",
                columns={
                    **_decimal("hours", "rounded_hours", "billable_rate", "cost_rate"),
                    "invoice__id": {"data_type": "bigint"},
                    "external_reference": {"data_type": "json"},
                },
                steps=[{"map": _without_null_invoice}],
            ),
            _collection(
                "expenses",
                columns={**_decimal("total_cost", "units"), "invoice__id": {"data_type": "bigint"}},
                steps=[{"map": _without_null_invoice}],
            ),
            _collection("users", columns=_decimal("cost_rate")),
            _collection("clients"),
            _collection("projects", columns=_decimal("fee")),
            _collection("tasks"),
        ],
    }
    yield from rest_api_resources(config)
