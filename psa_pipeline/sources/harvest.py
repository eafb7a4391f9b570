"""Harvest API v2: time entries, expenses, users, clients, projects and tasks.

Harvest wants the bearer token, the `Harvest-Account-Id` header and a User-Agent naming the
app. Pages follow `links.next` (a full URL, null on the last page); `updated_since` makes runs
incremental on every collection. Hours, rates and costs arrive as JSON numbers and are stored as
DECIMAL.

Given a `month` ("YYYY-MM"), the source yields only the month's time entries and expenses, read
whole with Harvest's `from` / `to` (spent date, both inclusive) and no cursor: the month-end
reload, which re-reads a month whatever the nightly cursors say.
"""

from __future__ import annotations

from datetime import timedelta

import dlt
from dlt.sources.helpers.rest_client.auth import BearerTokenAuth
from dlt.sources.helpers.rest_client.paginators import JSONLinkPaginator
from dlt.sources.rest_api import RESTAPIConfig

from psa_pipeline.settings import SourceEndpoint
from psa_pipeline.sources import INITIAL_CURSOR, month_span
from psa_pipeline.sources.landing import IngestStats, PageFormat, RecordRules, landed_resources
from psa_pipeline.sources.probes import Probe, SourceProbes, json_with

PAGE_SIZE = 2000  # Harvest's maximum
MONTHLY = ("time_entries", "expenses")  # what a month-end reload re-reads, by spent date
USER_AGENT = "PSA Pipeline (https://github.com/psa-pipeline/psa-pipeline)"
# What a booking must hold to be billed: who, on what, and hours a day can have
_BOOKING = ("user.id", "project.id", "spent_date")
RULES = {
    "time_entries": RecordRules(
        required=_BOOKING, numbers={"hours": (0, 24), "rounded_hours": (0, 24)}
    ),
    "expenses": RecordRules(required=_BOOKING, currencies=("client.currency",)),
    "projects": RecordRules(currencies=("client.currency",)),
    "clients": RecordRules(currencies=("currency",)),
}


def _collection(name: str, columns: dict | None = None) -> dict:
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
        "columns": {"id": {"data_type": "bigint"}, **(columns or {})},
    }


def _in_month(collection: dict, month: str) -> dict:
    """The collection read whole for the month it was spent in, without a cursor."""
    first, after = month_span(month)
    last = after - timedelta(days=1)
    endpoint = {key: value for key, value in collection["endpoint"].items() if key != "incremental"}
    endpoint["params"] = {"per_page": PAGE_SIZE, "from": str(first), "to": str(last)}
    return {**collection, "endpoint": endpoint}


def _decimal(*names: str) -> dict:
    # dlt writes the column name into each hint dict, so every column gets its own
    return {name: {"data_type": "decimal", "precision": 18, "scale": 4} for name in names}


@dlt.source(name="harvest")
def harvest_source(
    base_url: str = dlt.config.value,
    access_token: str = dlt.secrets.value,
    account_id: str = dlt.config.value,
    page_format: PageFormat = "arrow",
    stats: IngestStats | None = None,
    month: str | None = None,
):
    """Yields one table per collection, one row per record, nested objects flattened.

    `time_entries` and `expenses` (user / client / project / task or category flattened to
    `<object>__<field>`; hours, rates and costs as DECIMAL), and the reference data they point
    at: `users`, `clients`, `projects` (with its client) and `tasks`. With a `month`
    ("YYYY-MM"): only the time entries and expenses spent in that month, without a cursor.
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
                },
            ),
            _collection(
                "expenses",
                columns={**_decimal("total_cost", "units"), "invoice__id": {"data_type": "bigint"}},
            ),
            _collection("users", columns=_decimal("cost_rate")),
            _collection("clients"),
            _collection("projects", columns=_decimal("fee")),
            _collection("tasks"),
        ],
    }
    if month is not None:
        config["resources"] = [
            _in_month(collection, month)
            for collection in config["resources"]
            if collection["name"] in MONTHLY
        ]
    yield from landed_resources(config, "harvest", RULES, stats, page_format)


def probes(endpoint: SourceEndpoint) -> SourceProbes:
    """One record of each collection the source reads."""
    collections = ("time_entries", "expenses", "users", "clients", "projects", "tasks")
    return SourceProbes(
        base_url=endpoint.base_url.rstrip("/") + "/",
        auth=BearerTokenAuth(endpoint.access_token),
        headers={"Harvest-Account-Id": endpoint.account_id or "", "User-Agent": USER_AGENT},
        probes=tuple(
            Probe(
                name.replace("_", " "),
                "GET",
                f"v2/{name}",
                json_with(name, "links"),
                params={"per_page": 1},
                permission=f"an administrator's token (a member's lists only their own {name})",
            )
            for name in collections
        ),
        settings_hint=(
            "SOURCES__HARVEST__BASE_URL, SOURCES__HARVEST__ACCESS_TOKEN, "
            "SOURCES__HARVEST__ACCOUNT_ID"
        ),
    )
