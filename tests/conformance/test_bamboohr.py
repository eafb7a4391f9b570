"""BambooHR's documented payloads, replayed through the ingest asset and the staging models.

The fixtures (fixtures/bamboohr/SOURCES.md) are BambooHR's own examples and public clients'
values: every value a string, `0000-00-00` for a date never filled in, `+00:00` stamps in
reports and `Z` stamps in the changed table, compensation rows with no row id and rates as
`"56.00 USD"` (one of them a salary of `"75000 USD"`), time off stamped with dates and its
days as a map. Each JSON answer is given only to a request that asks for JSON; BambooHR's XML
is what any other request gets, so a connector that forgot the Accept header fails here.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import date, datetime
from decimal import Decimal

import dagster as dg
import pytest

from psa_pipeline.settings import SourceEndpoint
from tests.conformance.harness import land, rows, settings_for_vendor, stage
from tests.conformance.replay import Exchange, ReplayServer, fixture

API_KEY = "0123456789abcdef0123456789abcdef01234567"  # a BambooHR API key's form: 40 hex digits
COMPANY = "acme"
API = f"/api/gateway.php/{COMPANY}/v1"
AS_JSON = {
    "accept": "application/json",
    "authorization": "Basic " + base64.b64encode(f"{API_KEY}:x".encode()).decode(),
}
EPOCH = "1970-01-01T00:00:00Z"  # the first run asks from the cursors' initial value
NEWEST_EMPLOYEE = "2025-09-30T17:05:00Z"  # the report's newest lastChanged, as `since` takes it
NEWEST_TABLE = "2025-07-03T14:30:20Z"  # the changed table's newest lastChanged
NO_EMPLOYEES = {"title": "PSA Pipeline employees", "fields": [], "employees": []}
NO_TABLES = {"table": "compensation", "employees": []}  # PHP writes an empty map as []


def report_since(value: str) -> str:
    return rf'"lastChanged":\s*\{{[^}}]*"value":\s*"{re.escape(value)}"'


def employees_report(payload, since: str, times: int | None = None, field: str = "") -> Exchange:
    body = (report_since(since), *([rf'"{field}"'] if field else []))
    return Exchange(
        "POST",
        f"{API}/reports/custom",
        payload,
        params={"format": "JSON"},
        body=body,
        headers=AS_JSON,
        times=times,
    )


def compensation(payload, since: str) -> Exchange:
    path = f"{API}/employees/changed/tables/compensation"
    return Exchange("GET", path, payload, params={"since": since}, headers=AS_JSON)


def time_off(payload) -> list[Exchange]:
    """JSON for a request that asks for it; BambooHR's documented XML for any other."""
    path = f"{API}/time_off/requests"
    return [
        Exchange("GET", path, payload, headers=AS_JSON),
        Exchange(
            "GET", path, fixture("bamboohr", "time_off_requests.xml"), content_type="text/xml"
        ),
    ]


def documented_tenant(report="custom_report.json", field="") -> list[Exchange]:
    """The first run's answers, then the second run's (asked from the newest change)."""
    return [
        employees_report(fixture("bamboohr", report), EPOCH, times=1, field=field),
        employees_report(fixture("bamboohr", "custom_report_changed.json"), NEWEST_EMPLOYEE),
        compensation(fixture("bamboohr", "changed_tables_compensation.json"), EPOCH),
        compensation(NO_TABLES, NEWEST_TABLE),
        *time_off(fixture("bamboohr", "time_off_requests.json")),
    ]


def empty_tenant() -> list[Exchange]:
    return [
        employees_report(NO_EMPLOYEES, EPOCH),
        compensation(NO_TABLES, EPOCH),
        *time_off([]),
    ]


def settings_for(vendor: ReplayServer, tmp_path):
    endpoint = SourceEndpoint(base_url=vendor.url, access_token=API_KEY, company=COMPANY)
    return settings_for_vendor("bamboohr", tmp_path / "data", endpoint)


def staged(settings, model: str, columns: str, order_by: str) -> list[tuple]:
    """These columns of a staging model, a tuple per row."""
    found = rows(
        settings, f"select {columns} from staging.stg_bamboohr__{model} order by {order_by}"
    )
    return [tuple(row.values()) for row in found]


def test_documented_payloads_land_typed_and_a_second_run_asks_from_the_newest_change(tmp_path):
    with ReplayServer(documented_tenant()) as vendor, dg.instance_for_test() as instance:
        settings = settings_for(vendor, tmp_path)
        land("bamboohr", settings, instance)
        stage("bamboohr", settings, tmp_path)

        assert all(r.headers.get("accept") == "application/json" for r in vendor.requests)
        (asked,) = vendor.asked(f"{API}/reports/custom")
        assert asked.json()["filters"]["lastChanged"] == {"includeNull": "yes", "value": EPOCH}
        employees = staged(
            settings,
            "employees",
            "employee_id, email, supervisor_employee_id, hired_on, terminated_on, is_active, "
            "fte, daily_capacity_hours, updated_at",
            "employee_id",
        )
        assert employees == [
            # 0000-00-00 is no termination; 30 standard hours of 40 is 0.75 FTE
            (401, "yenhh8@gmail.com", None, date(2020, 11, 11), None, True,
             Decimal("0.7500"), Decimal("6.0000"), datetime(2022, 5, 21, 3, 36, 16)),
            # no standard hours filled in: full time
            (402, "test@testperson.com", 401, date(2025, 7, 3), date(2025, 9, 30), False,
             Decimal("1.0000"), Decimal("8.0000"), datetime(2025, 9, 30, 17, 5)),
        ]  # fmt: skip

        rates = staged(
            settings,
            "compensation",
            "compensation_id, employee_id, pay_type, cost_rate_amount, cost_rate_currency, "
            "effective_on, superseded_on, is_current, table_changed_at",
            "employee_id, effective_on",
        )
        first, second = datetime(2025, 7, 2, 20, 13, 43), datetime(2025, 7, 3, 14, 30, 20)
        assert rates == [
            (401 * 100000 + 45077, 401, "Salary", Decimal("75000.00"), "USD",
             date(2023, 6, 2), date(2024, 6, 4), False, first),
            (401 * 100000 + 45445, 401, "Hourly", Decimal("56.00"), "USD",
             date(2024, 6, 4), None, True, first),
            (402 * 100000 + 45839, 402, "Hourly", Decimal("35.00"), "USD",
             date(2025, 7, 3), None, True, second),
        ]  # fmt: skip

        leaves = staged(
            settings,
            "time_off",
            "time_off_request_id, employee_id, time_off_type_id, time_off_type, request_status, "
            "is_approved, amount_unit, requested_days, requested_hours, starts_on, ends_on, "
            "status_changed_at",
            "time_off_request_id",
        )
        assert leaves == [(
            1, 401, 1, "Vacation", "approved", True, "days", Decimal("5.0000"), None,
            date(2001, 1, 1), date(2001, 1, 6), datetime(2011, 8, 14),
        )]  # fmt: skip
        (days,) = rows(settings, "select dates from raw_bamboohr.time_off")
        assert [d["date"] for d in json.loads(days["dates"])][:2] == ["2001-01-01", "2001-01-02"]

        # the second run asks from the newest change of each (as BambooHR's since takes it)
        vendor.clear()
        land("bamboohr", settings, instance)
        stage("bamboohr", settings, tmp_path)
        (asked,) = vendor.asked(f"{API}/reports/custom")
        assert asked.json()["filters"]["lastChanged"]["value"] == NEWEST_EMPLOYEE
        (asked,) = vendor.asked(f"{API}/employees/changed/tables/compensation")
        assert asked.query == {"since": NEWEST_TABLE}
        assert staged(settings, "employees", "job_title, fte", "employee_id") == [
            ("Senior Accountant", Decimal("1.0000")),
            ("Testing Coordinator", Decimal("1.0000")),
        ]
        assert len(staged(settings, "compensation", "employee_id", "employee_id")) == 3
        assert len(staged(settings, "time_off", "ends_on", "ends_on")) == 1
        # time off's cursor is a day: the newest day's requests come again, merged, not added
        assert rows(
            settings,
            "select count(*) as n, max(_dlt_load_id) = (select max(load_id) from "
            "raw_bamboohr._dlt_loads) as reloaded from raw_bamboohr.time_off",
        ) == [{"n": 1, "reloaded": True}]


@pytest.fixture
def custom_fte_field(monkeypatch):
    """A tenant that keeps an FTE share in a custom field, set as dlt config."""
    monkeypatch.setenv("SOURCES__BAMBOOHR__CAPACITY_FIELD", "customFTE")
    monkeypatch.setenv("SOURCES__BAMBOOHR__CAPACITY_UNIT", "fte")


def test_an_fte_custom_field_is_read_when_set(tmp_path, custom_fte_field):
    exchanges = documented_tenant("custom_report_custom_fte.json", field="customFTE")
    with ReplayServer(exchanges) as vendor, dg.instance_for_test() as instance:
        settings = settings_for(vendor, tmp_path)
        land("bamboohr", settings, instance)
        stage("bamboohr", settings, tmp_path)
        (asked,) = vendor.asked(f"{API}/reports/custom")
        assert "customFTE" in asked.json()["fields"]
        assert staged(settings, "employees", "fte, daily_capacity_hours", "employee_id") == [
            (Decimal("0.6000"), Decimal("4.8000")),
            (Decimal("1.0000"), Decimal("8.0000")),  # left empty: full time
        ]


def test_a_tenant_with_nothing_lands_every_table_and_stages(tmp_path):
    with ReplayServer(empty_tenant()) as vendor, dg.instance_for_test() as instance:
        settings = settings_for(vendor, tmp_path)
        land("bamboohr", settings, instance)
        stage("bamboohr", settings, tmp_path)
        for model, key in (
            ("employees", "employee_id, fte, hired_on, updated_at"),
            ("compensation", "compensation_id, cost_rate_amount, effective_on"),
            ("time_off", "time_off_request_id, requested_days, starts_on"),
        ):
            assert rows(settings, f"select {key} from staging.stg_bamboohr__{model}") == []
