"""BambooHR: employees, their compensation table and time off.

Every call is under `api/gateway.php/<company>/v1/`, authenticated with HTTP Basic (the API key
as the user name, any password). BambooHR does not page: each call returns everything it
selects. Each resource merges on its `id`.

- `employees` is a custom report (`POST reports/custom?format=JSON`), the one call that returns
  every field for every employee, leavers included. A report cannot be filtered, so each run
  reads all employees and the cursor on `lastChanged` keeps only the changed ones for the load.
  (`employees/changed?since=` lists changed ids, but fetching them would cost a call per
  employee.)
- `compensation` reads `employees/changed/tables/compensation?since=`, which returns every row
  of each employee whose table changed; each row carries its table's `lastChanged` as
  `tableLastChanged`, the cursor. `since` is inclusive, so the newest table comes back on every
  run and the cursor drops its rows again.
- `time_off` reads `time_off/requests` for a window wide enough to hold any request a firm has;
  the endpoint has no changed-since filter, so the cursor on `status.lastChanged` (which moves
  whenever a request is made, approved, denied or cancelled) keeps only the changed ones.
"""

from __future__ import annotations

from collections.abc import Iterator

import dlt
from dlt.sources.helpers.rest_client.auth import HttpBasicAuth
from dlt.sources.rest_api import RESTAPIConfig

from psa_pipeline.settings import SourceEndpoint
from psa_pipeline.sources import INITIAL_CURSOR
from psa_pipeline.sources.landing import IngestStats, PageFormat, RecordRules, landed_resources
from psa_pipeline.sources.probes import Probe, SourceProbes, json_with

# The report fields read for every employee (BambooHR's names; dlt snake-cases the columns)
EMPLOYEE_FIELDS = [
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
    "fte",
    "lastChanged",
]
RULES = {"compensation": RecordRules(currencies=("rate.currency",))}
TIME_OFF_WINDOW = {"start": "2000-01-01", "end": "2099-12-31"}


def _compensation_rows(page: dict) -> Iterator[dict]:
    """One row per compensation row, stamped with its table's last change."""
    for table in page["employees"].values():
        for row in table["rows"]:
            yield {**row, "tableLastChanged": table["lastChanged"]}


@dlt.source(name="bamboohr")
def bamboohr_source(
    base_url: str = dlt.config.value,
    access_token: str = dlt.secrets.value,  # the API key, named as every source names its secret
    company: str = dlt.config.value,
    page_format: PageFormat = "arrow",
    stats: IngestStats | None = None,
):
    """Yields `employees`, `compensation` (rate as `rate__value` text beside `rate__currency`)
    and `time_off` (one row per request, its status and type flattened)."""
    config: RESTAPIConfig = {
        "client": {
            "base_url": f"{base_url.rstrip('/')}/api/gateway.php/{company}/v1/",
            "auth": {"type": "http_basic", "username": access_token, "password": "x"},
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
                    "json": {"title": "PSA Pipeline employees", "fields": EMPLOYEE_FIELDS},
                    "data_selector": "employees",
                    "incremental": {"cursor_path": "lastChanged", "initial_value": INITIAL_CURSOR},
                },
                # null until someone has a supervisor or leaves; typed so the columns exist
                "columns": {
                    "id": {"data_type": "text"},
                    "supervisor_e_id": {"data_type": "text"},
                    "termination_date": {"data_type": "text"},
                },
            },
            {
                "name": "compensation",
                "endpoint": {
                    "path": "employees/changed/tables/compensation",
                    "params": {"since": "{incremental.start_value}"},
                    "data_selector": "$",  # rows are grouped under each employee's table
                    "incremental": {
                        "cursor_path": "tableLastChanged",
                        "initial_value": INITIAL_CURSOR,
                    },
                },
                # dlt runs the incremental cursor after this step, so it sees rows
                "records_of_page": _compensation_rows,
                "columns": {"id": {"data_type": "text"}},
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
                    },
                },
                "columns": {"id": {"data_type": "text"}},
            },
        ],
    }
    yield from landed_resources(config, "bamboohr", RULES, stats, page_format)


def probes(endpoint: SourceEndpoint) -> SourceProbes:
    """The employee report, the compensation table and time off, each asked for the least."""
    return SourceProbes(
        base_url=f"{endpoint.base_url.rstrip('/')}/api/gateway.php/{endpoint.company}/v1/",
        auth=HttpBasicAuth(endpoint.access_token, "x"),
        headers={"Accept": "application/json"},
        probes=(
            Probe(
                "employees report",
                "POST",
                "reports/custom",
                json_with("employees"),
                params={"format": "JSON"},
                json={"title": "PSA Pipeline check", "fields": ["id", "workEmail"]},
                permission="the API key's user must see every employee's job and e-mail",
            ),
            Probe(
                "compensation table",
                "GET",
                "employees/changed/tables/compensation",
                json_with("employees"),
                params={"since": "2099-01-01T00:00:00Z"},
                permission="the API key's user must have access to the compensation table",
            ),
            Probe(
                "time off requests",
                "GET",
                "time_off/requests",
                lambda response: (
                    None
                    if isinstance(_json_or_none(response), list)
                    else "the answer is not a JSON list of requests"
                ),
                params={"start": "2099-01-01", "end": "2099-01-01"},
                permission="the API key's user must see everyone's time off",
            ),
        ),
        settings_hint=(
            "SOURCES__BAMBOOHR__BASE_URL, SOURCES__BAMBOOHR__COMPANY, "
            "SOURCES__BAMBOOHR__ACCESS_TOKEN"
        ),
    )


def _json_or_none(response):
    try:
        return response.json()
    except ValueError:
        return None
