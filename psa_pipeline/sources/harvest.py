"""Harvest API v2: time entries, expenses, users, clients, projects and tasks.

What the connector relies on, from Harvest's reference (help.getharvest.com/api-v2) and the
public clients that read it:

- Requests (introduction/overview/general): the bearer token, `Harvest-Account-Id` and a
  `User-Agent` naming the app and a way to reach its authors (none is a 400 Bad Request).
- Paging (introduction/overview/pagination): cursor-based. `links.next` is a full URL with an
  opaque cursor, null on the last page; the connector follows it and never builds a page URL
  (`page`, `next_page`, `previous_page` are null between the first and the last page).
  `per_page` at most 2000. Airbyte's source-harvest (manifest.yaml) pages the same way.
- Incremental (each list's `updated_since`, ISO 8601): every collection, on `updated_at`.
  Harvest stamps in UTC with `Z` to the second; the cursor is normalised to a UTC instant all
  the same (`in_utc`) and sent back as `YYYY-MM-DDTHH:MM:SSZ`, Airbyte's format. The reference
  does not say whether `updated_since` is inclusive; sent as the newest `updated_at` loaded,
  it re-reads at most that second if it is, and dlt drops the records it already has.
- Money and hours are JSON numbers (overview "decimal": 6.8), stored DECIMAL(18,4); dates
  `YYYY-MM-DD`; timestamps UTC. A time entry's `client` and `project` are `{id, name}` only
  (time-entries: "An object containing the id and name"): its project code is the project's
  and its currency the client's, joined in staging. An expense's are `{id, name, currency}`
  and `{id, name, code}` (expenses reference). Airbyte's schema (source_harvest/schemas/
  time_entries.json) also lists `project.code` and `client.currency` on time entries, as some
  tenants send them: they are declared, and staging prefers the project's and client's own.

Given a `month` ("YYYY-MM"), the source yields only the month's time entries and expenses, read
whole with Harvest's `from` / `to` (spent date, both inclusive) and no cursor: the month-end
reload, which re-reads a month whatever the nightly cursors say.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dlt
import requests
from dlt.sources.helpers.rest_client.auth import BearerTokenAuth
from dlt.sources.helpers.rest_client.paginators import JSONLinkPaginator
from dlt.sources.rest_api import RESTAPIConfig

from psa_pipeline.settings import SourceEndpoint
from psa_pipeline.sources import INITIAL_CURSOR, month_span
from psa_pipeline.sources.landing import (
    IngestStats,
    PageFormat,
    RecordRules,
    in_utc,
    landed_resources,
)
from psa_pipeline.sources.probes import PermissionMissing, Probe, SourceProbes, json_with

PAGE_SIZE = 2000  # Harvest's maximum
MONTHLY = ("time_entries", "expenses")  # what a month-end reload re-reads, by spent date
USER_AGENT = "PSA Pipeline (https://github.com/psa-pipeline/psa-pipeline)"
HARVEST_DATETIME = "%Y-%m-%dT%H:%M:%SZ"
# What a booking must hold to be billed: who, on what, and hours a day can have
_BOOKING = ("user.id", "project.id", "spent_date")
_A_DAY = (0, 24)
RULES = {
    "time_entries": RecordRules(
        required=_BOOKING,
        numbers={"hours": _A_DAY, "rounded_hours": _A_DAY, "hours_without_timer": _A_DAY},
    ),
    "expenses": RecordRules(required=_BOOKING, currencies=("client.currency",)),
    "projects": RecordRules(currencies=("client.currency",)),
    "clients": RecordRules(currencies=("currency",)),
}


def _typed(data_type: str, *names: str) -> dict:
    # dlt writes the column name into each hint dict, so every column gets its own
    if data_type == "decimal":
        return {name: {"data_type": "decimal", "precision": 18, "scale": 4} for name in names}
    return {name: {"data_type": data_type} for name in names}


_STAMPS = _typed("timestamp", "created_at", "updated_at")
# Every column staging reads, typed, per collection; keys `<object>__<field>` as flattened.
COLUMNS = {
    # timesheets-api/timesheets/time-entries ("The time entry object"); the list example
    "time_entries": {
        **_typed("bigint", "id", "user__id", "client__id", "project__id", "task__id"),
        **_typed("bigint", "invoice__id"),
        **_typed("text", "user__name", "client__name", "project__name", "task__name"),
        **_typed("text", "notes", "locked_reason", "spent_date"),
        **_typed("text", "project__code", "client__currency"),  # undocumented; Airbyte's schema
        **_typed("decimal", "hours", "rounded_hours", "hours_without_timer"),
        **_typed("decimal", "billable_rate", "cost_rate"),
        **_typed("bool", "billable", "is_closed", "is_locked", "is_billed", "is_running"),
        **_STAMPS,
    },
    # expenses-api/expenses/expenses ("The expense object"); the list example
    "expenses": {
        **_typed("bigint", "id", "user__id", "client__id", "project__id", "invoice__id"),
        **_typed("bigint", "expense_category__id"),
        **_typed("text", "user__name", "client__name", "project__name", "expense_category__name"),
        **_typed("text", "project__code", "client__currency", "notes", "locked_reason"),
        **_typed("text", "spent_date"),
        **_typed("decimal", "total_cost", "units"),
        **_typed("bool", "billable", "is_closed", "is_locked", "is_billed"),
        **_STAMPS,
    },
    # users-api/users/users ("The user object"); weekly_capacity is in seconds
    "users": {
        **_typed("bigint", "id", "weekly_capacity"),
        **_typed("text", "email", "first_name", "last_name", "timezone"),
        **_typed("decimal", "cost_rate", "default_hourly_rate"),
        **_typed("text", "roles", "access_roles"),  # lists, landed as JSON text
        **_typed("bool", "is_active", "is_contractor"),
        **_STAMPS,
    },
    # clients-api/clients/clients ("The client object"): the client's currency
    "clients": {
        **_typed("bigint", "id"),
        **_typed("text", "name", "currency"),
        **_typed("bool", "is_active"),
        **_STAMPS,
    },
    # projects-api/projects/projects ("The project object"): code, and the client's currency
    "projects": {
        **_typed("bigint", "id", "client__id"),
        **_typed("text", "name", "code", "client__name", "client__currency", "bill_by"),
        **_typed("text", "starts_on", "ends_on"),
        **_typed("decimal", "fee", "hourly_rate", "budget", "cost_budget"),
        **_typed("bool", "is_active", "is_billable", "is_fixed_fee"),
        **_STAMPS,
    },
    # tasks-api/tasks/tasks ("The task object")
    "tasks": {
        **_typed("bigint", "id"),
        **_typed("text", "name"),
        **_typed("decimal", "default_hourly_rate"),
        **_typed("bool", "billable_by_default", "is_active"),
        **_STAMPS,
    },
}


def harvest_datetime(cursor: str) -> str:
    """A cursor (any ISO 8601 instant) as Harvest writes its datetimes: UTC, to the second."""
    at = datetime.fromisoformat(cursor.replace("Z", "+00:00"))
    return at.astimezone(UTC).strftime(HARVEST_DATETIME)


def blank_as_null(record: dict) -> dict:
    """Harvest sends a text field with nothing in it as "" (a user's `telephone`, a project's
    `notes` in the reference's examples). The Postgres warehouse loads pages as csv, where dlt
    reads an empty value of a nullable column as NULL; DuckDB would keep "". Both get NULL."""
    for name, value in record.items():
        if value == "":
            record[name] = None
    return record


def _collection(name: str) -> dict:
    """A Harvest collection: `links.next` paging, incremental on `updated_since`, merge on id."""
    return {
        "name": name,
        "endpoint": {
            "path": f"v2/{name}",
            "params": {"per_page": PAGE_SIZE},
            "paginator": JSONLinkPaginator(next_url_path="links.next"),
            "data_selector": name,
            "incremental": {
                "start_param": "updated_since",
                "cursor_path": "updated_at",
                "initial_value": INITIAL_CURSOR,
                "convert": harvest_datetime,
            },
        },
        # before the cursor sees them
        "processing_steps": [{"map": in_utc("updated_at")}, {"map": blank_as_null}],
        "columns": COLUMNS[name],
    }


def _in_month(collection: dict, month: str) -> dict:
    """The collection read whole for the month it was spent in, without a cursor."""
    first, after = month_span(month)
    last = after - timedelta(days=1)
    endpoint = {key: value for key, value in collection["endpoint"].items() if key != "incremental"}
    endpoint["params"] = {"per_page": PAGE_SIZE, "from": str(first), "to": str(last)}
    return {**collection, "endpoint": endpoint}


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
        "resources": [_collection(name) for name in COLUMNS],
    }
    if month is not None:
        config["resources"] = [
            _in_month(collection, month)
            for collection in config["resources"]
            if collection["name"] in MONTHLY
        ]
    yield from landed_resources(config, "harvest", RULES, stats, page_format)


# What each list needs, in the words of its "Required permissions" section
NEEDS = {
    "time_entries": "an Administrator (Managers see their teammates' and managed projects' "
    "time, Members only their own)",
    "expenses": "an Administrator (Managers see their teammates' and managed projects' "
    "expenses, Members only their own)",
    "users": "an Administrator (or a Manager with assigned teammates, who sees only those)",
    "clients": "an Administrator (or a Manager with permission to create and edit clients)",
    "projects": "an Administrator (or a Manager with managed projects, who sees only those)",
    "tasks": "an Administrator (or a Manager with permission to create and edit tasks)",
}


def _an_administrator(response: requests.Response) -> str | None:
    """`GET /v2/users/me`: only an Administrator's token lists every record of the account."""
    problem = json_with("access_roles")(response)
    if problem is not None:
        return problem
    roles = response.json()["access_roles"] or ["no access role"]
    if "administrator" in roles:
        return None
    return PermissionMissing(
        f"the token's user is a {' and '.join(roles)}, not an administrator, so Harvest answers "
        f"with only the time entries and expenses that user may see"
    )


def probes(endpoint: SourceEndpoint) -> SourceProbes:
    """Who the token is, then one record of each collection the source reads."""
    return SourceProbes(
        base_url=endpoint.base_url.rstrip("/") + "/",
        auth=BearerTokenAuth(endpoint.access_token),
        headers={"Harvest-Account-Id": endpoint.account_id or "", "User-Agent": USER_AGENT},
        probes=(
            Probe(
                "access role",
                "GET",
                "v2/users/me",
                _an_administrator,
                permission="a personal access token of a Harvest Administrator",
            ),
            *(
                Probe(
                    name.replace("_", " "),
                    "GET",
                    f"v2/{name}",
                    json_with(name, "links.next"),
                    params={"per_page": 1},
                    permission=needs,
                )
                for name, needs in NEEDS.items()
            ),
        ),
        settings_hint=(
            "SOURCES__HARVEST__BASE_URL, SOURCES__HARVEST__ACCESS_TOKEN, "
            "SOURCES__HARVEST__ACCOUNT_ID"
        ),
    )
