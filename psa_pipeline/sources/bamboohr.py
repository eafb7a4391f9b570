"""BambooHR: employees, their compensation table and time off.

Every call is under `api/gateway.php/<company>/v1/`, authenticated with HTTP Basic (the API key
as the user name, any password), and asks for JSON (`Accept: application/json`): BambooHR
answers XML otherwise. BambooHR does not page: each call returns everything it selects. Every
value is a string, and an empty date is `0000-00-00`: read here as null, as is empty text.

- `employees` is a custom report (`POST reports/custom?format=JSON`): every employee, leavers
  included, filtered on `lastChanged` at or after the cursor (`filters.lastChanged`, inclusive;
  employees BambooHR has no change date for come every time, `includeNull`). BambooHR leaves
  out a field that does not exist or that the key's user may not see, without an error, so a
  missing column is a finding of `check-sources`, not a failure here.
- `compensation` reads `employees/changed/tables/compensation?since=`: all the rows of every
  employee changed since the cursor (any change to the employee, not only to the table),
  stamped with the employee's `lastChanged`, the cursor. The rows carry no row id, so a row is
  keyed by the employee and its start date; the rate is one string, `"56.00 USD"`, split here
  into `rate.value` and `rate.currency` (a rate already split, `{value, currency}` as the
  per-employee table call sends it, is kept).
- `time_off` reads `time_off/requests` for a window wide enough to hold any request a firm has;
  the endpoint has no changed-since filter, so the cursor on `status.lastChanged` (a date:
  the day a request was made, approved, denied or cancelled) keeps only the changed ones. The
  cursor is a day, so the requests of the newest day are loaded again each run (no dedup on
  the boundary): a request approved later the same day still lands.

Capacity: BambooHR has no FTE field. Its standard `standardHoursPerWeek` (integer) is read by
default (`capacity_unit` hours_per_week; staging divides by the full-time week); a tenant that
keeps an FTE share in a custom field names it (`SOURCES__BAMBOOHR__CAPACITY_FIELD`, e.g.
`customFTE`) with `SOURCES__BAMBOOHR__CAPACITY_UNIT=fte`. Either lands as `capacity`.

Sources for the fields read (where they disagree, the vendor's own reference wins):
- report fields: documentation.bamboohr.com/docs/list-of-field-names (id, firstName, lastName,
  jobTitle, department, division, location, workEmail, supervisorEId, hireDate,
  terminationDate, status, standardHoursPerWeek, lastChanged); request and answer shape, the
  filters and the silent omission: documentation.bamboohr.com/reference/request-custom-report
  and BambooHR/bhr-api-python specs/public.yaml (`/api/v1/reports/custom`); values as strings,
  `0000-00-00`, `+00:00` stamps: faros-ai/airbyte-connectors
  sources/bamboohr-source/test_files/users.json.
- compensation rows (startDate, endDate, rate, type, exempt, reason, comment, paidPer,
  paySchedule, overtimeRate; no id): documentation.bamboohr.com/reference/
  get-changed-employee-table-data; the `since` forms: .../reference/get-changed-employee-ids;
  `{value, currency}` rates of the per-employee call (`employees/all/tables/compensation`):
  ktopcuoglu/gitlab-dbt-analytics transform/snowflake-dbt/models/bamboohr/base/
  bamboohr_compensation.sql. The old tables.php page's `row id` is not in this call; rows
  keyed by employee and date: AutoIDM/autoidm-tap-bamboohr tap_bamboohr/streams.py.
- time off (id, employeeId, name, status{lastChanged, lastChangedByUserId, status}, start, end,
  created, type{id, name, icon}, amount{unit, amount}, actions, dates{day: amount}, notes):
  documentation.bamboohr.com/reference/time-off-get-time-off-requests-1 and
  bhr-api-python docs/TimeOffRequest1*.md (dates, company time zone; statuses approved,
  denied, superceded, requested, canceled). The SDK types ids and amounts as numbers; the
  reference's examples, PyBambooHR and the Airbyte manifest read strings: both are accepted.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, Literal

import dlt
import requests
from dlt.sources.helpers.rest_client.auth import HttpBasicAuth
from dlt.sources.rest_api import RESTAPIConfig

from psa_pipeline.settings import SourceEndpoint
from psa_pipeline.sources import INITIAL_CURSOR
from psa_pipeline.sources.landing import (
    IngestStats,
    PageFormat,
    RecordRules,
    in_utc,
    landed_resources,
    utc_instant,
)
from psa_pipeline.sources.probes import PermissionMissing, Probe, SourceProbes, json_with

CapacityUnit = Literal["hours_per_week", "fte"]
DEFAULT_CAPACITY_FIELD = "standardHoursPerWeek"
# The report fields read for every employee (BambooHR's names; dlt snake-cases the columns)
EMPLOYEE_FIELDS = (
    "id",
    "firstName",
    "lastName",
    "jobTitle",
    "department",
    "division",
    "location",
    "workEmail",
    "supervisorEId",
    "hireDate",
    "terminationDate",
    "status",
    "lastChanged",
)
UNFILLED = ("", "0000-00-00")  # BambooHR's empty text and empty date
TIME_OFF_WINDOW = {"start": "2000-01-01", "end": "2099-12-31"}
RULES = {
    "employees": RecordRules(numbers={"capacity": (0, None)}),
    "compensation": RecordRules(
        required=("startDate", "rate.value"), currencies=("rate.currency",)
    ),
}
MONEY = re.compile(r"^\s*(-?[\d,]*\.?\d+)\s+([A-Za-z]{3})\s*$")  # "56.00 USD", "75000 USD"
JSON = {"Accept": "application/json"}


class CompensationNotVisible(RuntimeError):
    """Compensation rows came without their fields: BambooHR leaves out every field the API
    key's user may not see, so the user has no access to the compensation table."""


def since_param(value: str) -> str:
    """A cursor value as BambooHR's `since` and report filter take it: UTC, to the second, Z."""
    at = datetime.fromisoformat(value)
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def unfilled_as_null(record: dict) -> dict:
    """A field never filled in as null: BambooHR writes it `0000-00-00` for a date and `""`
    or null for anything else. (One form also lands the same on DuckDB and on Postgres, whose
    csv load cannot tell an empty string from null.)"""
    return {name: None if value in UNFILLED else value for name, value in record.items()}


def money(value: Any) -> Any:
    """A BambooHR amount as {value, currency, text}: `"56.00 USD"` split, `{value, currency}`
    kept; anything else keeps its text only (and is quarantined for having no value)."""
    if isinstance(value, dict):
        return {"value": value.get("value"), "currency": value.get("currency"), "text": None}
    if not isinstance(value, str):
        return {"value": None, "currency": None, "text": value}
    found = MONEY.match(value)
    if found is None:
        return {"value": None, "currency": None, "text": value}
    return {"value": found[1].replace(",", ""), "currency": found[2].upper(), "text": value}


def compensation_rows(page: dict) -> Iterator[dict]:
    """One record per row of each changed employee's table, keyed by employee and start date
    and stamped with the employee's last change (UTC)."""
    tables = page.get("employees") or {}  # PHP sends an empty map as []
    for employee_id, table in tables.items():
        changed = utc_instant(table.get("lastChanged"))
        for row in table.get("rows") or []:
            if row.get("startDate") is None and row.get("rate") is None:
                raise CompensationNotVisible(
                    "bamboohr: the compensation rows came without their fields. BambooHR leaves "
                    "out the fields a user may not see: give the API key's user access to the "
                    "compensation table (its BambooHR access level), then run again."
                )
            yield unfilled_as_null(
                {
                    **row,
                    "employeeId": employee_id,
                    "lastChanged": changed,
                    "rate": money(row.get("rate")),
                }
            )


def employee_record(capacity_field: str, capacity_unit: CapacityUnit):
    """The report row with its capacity under one name, as a number, and its unit beside it."""

    def step(record: dict) -> dict:
        record = unfilled_as_null(record)
        record["capacity"] = _number(record.pop(capacity_field, None))
        record["capacityUnit"] = capacity_unit
        return record

    return step


def _number(value: Any) -> Any:
    """A number sent as text as a number; empty as null; anything else as it came (the
    record's rules quarantine it, naming it)."""
    if value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


def time_off_record(record: dict) -> dict:
    """`dates` (a map of day to amount) as a list, so it stays one JSON column, not a column
    per day."""
    dates = record.get("dates")
    if isinstance(dates, dict):
        record["dates"] = [{"date": day, "amount": amount} for day, amount in dates.items()]
    return record


def report_fields(capacity_field: str) -> list[str]:
    return [*EMPLOYEE_FIELDS, capacity_field]


@dlt.source(name="bamboohr")
def bamboohr_source(
    base_url: str = dlt.config.value,
    access_token: str = dlt.secrets.value,  # the API key, named as every source names its secret
    company: str = dlt.config.value,
    capacity_field: str = DEFAULT_CAPACITY_FIELD,
    capacity_unit: CapacityUnit = "hours_per_week",
    page_format: PageFormat = "arrow",
    stats: IngestStats | None = None,
):
    """Yields `employees` (capacity as `capacity` in `capacity_unit`), `compensation` (one row
    per table row, the rate as `rate__value` text beside `rate__currency`) and `time_off` (one
    row per request, status, type and amount flattened, `dates` as JSON)."""
    if capacity_unit not in ("hours_per_week", "fte"):
        raise ValueError(f"capacity_unit must be hours_per_week or fte, not {capacity_unit!r}")
    config: RESTAPIConfig = {
        "client": {
            "base_url": api_base(base_url, company),
            "auth": {"type": "http_basic", "username": access_token, "password": "x"},
            "headers": JSON,
            "paginator": "single_page",
        },
        "resource_defaults": {"write_disposition": "merge", "primary_key": "id"},
        "resources": [
            {
                "name": "employees",
                "endpoint": {
                    "path": "reports/custom",
                    "method": "POST",
                    "params": {"format": "JSON"},
                    "json": {
                        "title": "PSA Pipeline employees",
                        "fields": report_fields(capacity_field),
                        "filters": {
                            "lastChanged": {
                                "includeNull": "yes",
                                "value": "{incremental.start_value}",
                            }
                        },
                    },
                    "data_selector": "employees",
                    "incremental": {
                        "cursor_path": "lastChanged",
                        "initial_value": INITIAL_CURSOR,
                        "convert": since_param,
                        "on_cursor_value_missing": "include",
                    },
                },
                "processing_steps": [
                    {"map": in_utc("lastChanged")},
                    {"map": employee_record(capacity_field, capacity_unit)},
                ],
                # every column staging reads, so a field no one has filled yet still exists
                "columns": {
                    "id": {"data_type": "text"},
                    **{
                        name: {"data_type": "text"}
                        for name in EMPLOYEE_FIELDS
                        if name not in ("id", "lastChanged")
                    },
                    "capacity": {"data_type": "double"},
                    "capacityUnit": {"data_type": "text"},
                    "lastChanged": {"data_type": "timestamp"},
                },
            },
            {
                "name": "compensation",
                "primary_key": ["employeeId", "startDate"],
                "endpoint": {
                    "path": "employees/changed/tables/compensation",
                    "params": {"since": "{incremental.start_value}"},
                    "data_selector": "$",  # rows are grouped under each employee's table
                    "incremental": {
                        "cursor_path": "lastChanged",
                        "initial_value": INITIAL_CURSOR,
                        "convert": since_param,
                    },
                },
                # dlt runs the incremental cursor after this step, so it sees rows
                "records_of_page": compensation_rows,
                "columns": {
                    "employeeId": {"data_type": "text"},
                    "startDate": {"data_type": "text"},
                    "endDate": {"data_type": "text"},
                    "rate__value": {"data_type": "text"},
                    "rate__currency": {"data_type": "text"},
                    "rate__text": {"data_type": "text"},
                    "type": {"data_type": "text"},
                    "reason": {"data_type": "text"},
                    "paidPer": {"data_type": "text"},
                    "lastChanged": {"data_type": "timestamp"},
                },
            },
            {
                "name": "time_off",
                "endpoint": {
                    "path": "time_off/requests",
                    "params": TIME_OFF_WINDOW,
                    "data_selector": "$",
                    "incremental": {
                        "cursor_path": "status.lastChanged",
                        "initial_value": INITIAL_CURSOR,
                        "primary_key": [],  # a day's cursor: load the newest day again
                    },
                },
                "processing_steps": [
                    {"map": in_utc("status.lastChanged")},
                    {"map": time_off_record},
                ],
                "columns": {
                    "id": {"data_type": "text"},
                    "employeeId": {"data_type": "text"},
                    "status__status": {"data_type": "text"},
                    "status__lastChanged": {"data_type": "text"},
                    "start": {"data_type": "text"},
                    "end": {"data_type": "text"},
                    "created": {"data_type": "text"},
                    "type__id": {"data_type": "text"},
                    "type__name": {"data_type": "text"},
                    "amount__unit": {"data_type": "text"},
                    "amount__amount": {"data_type": "text"},
                    "dates": {"data_type": "text"},  # JSON text, as landing keeps a list
                },
            },
        ],
    }
    yield from landed_resources(config, "bamboohr", RULES, stats, page_format)


def api_base(base_url: str, company: str | None) -> str:
    return f"{base_url.rstrip('/')}/api/gateway.php/{company}/v1/"


def probes(endpoint: SourceEndpoint) -> SourceProbes:
    """The employee report, the compensation table and time off, each asked for the least:
    reports and tables filtered to a moment no one has changed at, a day of time off far
    ahead. BambooHR leaves fields a user may not see out of a report instead of refusing, so
    the fields of each report are checked too."""
    capacity_field = _configured("capacity_field", DEFAULT_CAPACITY_FIELD)
    return SourceProbes(
        base_url=api_base(endpoint.base_url, endpoint.company),
        auth=HttpBasicAuth(endpoint.access_token, "x"),
        headers=JSON,
        probes=(
            Probe(
                "employees report",
                "POST",
                "reports/custom",
                report_lists(report_fields(capacity_field)),
                params={"format": "JSON"},
                json=_report_probe(report_fields(capacity_field)),
                permission="the API key's user must see every employee's job information, "
                "work e-mail, hire and termination dates",
            ),
            Probe(
                "compensation table",
                "GET",
                "employees/changed/tables/compensation",
                json_with("employees"),
                params={"since": "2099-01-01T00:00:00Z"},
                permission="the API key's user's access level must include the Compensation table",
            ),
            Probe(
                "compensation fields",
                "POST",
                "reports/custom",
                compensation_visible,
                params={"format": "JSON"},
                json=_report_probe(["id", "payRate"]),
                permission="the API key's user's access level must include the Compensation "
                "table (Pay Rate)",
            ),
            Probe(
                "time off requests",
                "GET",
                "time_off/requests",
                json_list,
                params={"start": "2099-01-01", "end": "2099-01-01"},
                permission="the API key's user must see everyone's time off (BambooHR lists "
                "only the requests a user may view)",
            ),
        ),
        settings_hint=(
            "SOURCES__BAMBOOHR__BASE_URL, SOURCES__BAMBOOHR__COMPANY, "
            "SOURCES__BAMBOOHR__ACCESS_TOKEN"
        ),
    )


def _configured(name: str, default: str) -> str:
    """A source setting as the dlt source resolves it (SOURCES__BAMBOOHR__<NAME>)."""
    return dlt.config.get(f"sources.bamboohr.{name}", str) or default


def _report_probe(fields: list[str]) -> dict:
    """A report of these fields for the employees changed after 2099: none, but its field
    list says which fields exist and may be seen."""
    return {
        "title": "PSA Pipeline check",
        "fields": fields,
        "filters": {"lastChanged": {"includeNull": "no", "value": "2099-01-01T00:00:00Z"}},
    }


def _answered_fields(response: requests.Response) -> tuple[str | None, set[str]]:
    problem = json_with("fields", "employees")(response)
    if problem is not None:
        return problem, set()
    return None, {field.get("id") for field in response.json()["fields"]}


def report_lists(fields: list[str]):
    """A report answer that lists every field the connector reads."""

    def check(response: requests.Response) -> str | None:
        problem, answered = _answered_fields(response)
        missing = [name for name in fields if name != "id" and name not in answered]
        if problem or not missing:
            return problem
        return (
            f"the report leaves out {', '.join(missing)}: BambooHR leaves out, without an "
            "error, a field that does not exist in this account (check "
            "SOURCES__BAMBOOHR__CAPACITY_FIELD) or that the API key's user may not see"
        )

    return check


def compensation_visible(response: requests.Response) -> str | None:
    problem, answered = _answered_fields(response)
    if problem or "payRate" in answered:
        return problem
    return PermissionMissing(
        "BambooHR left payRate out of the report: the API key's user may not see compensation, "
        "and BambooHR then leaves the compensation table's fields out of every answer."
    )


def json_list(response: requests.Response) -> str | None:
    problem = json_with()(response)
    if problem is None and not isinstance(response.json(), list):
        return "the answer is not a JSON list of requests"
    return problem
