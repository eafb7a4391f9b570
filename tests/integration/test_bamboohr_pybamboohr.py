"""PyBambooHR, a public BambooHR client written against the real API, reads the sandbox: a
check on the sandbox's dialect that no one here wrote. What it parses must be the store's.

PyBambooHR builds its base URL from the company subdomain (`https://api.bamboohr.com/api/
gateway.php/<company>/v1/`) and keeps it in `base_url`, which every call reads: pointing it at
the sandbox is setting that attribute.
"""

from datetime import datetime

import pytest
from PyBambooHR.PyBambooHR import PyBambooHR

from psa_pipeline.settings import SANDBOX_BAMBOOHR_COMPANY, SANDBOX_TOKEN
from tests.helpers import BAMBOOHR


@pytest.fixture
def client(sandbox):
    bamboo = PyBambooHR(subdomain=SANDBOX_BAMBOOHR_COMPANY, api_key=SANDBOX_TOKEN, timeout=30)
    assert bamboo.base_url.startswith("https://api.bamboohr.com/api/gateway.php/psa-sandbox/v1/")
    bamboo.base_url = f"{sandbox.url}{BAMBOOHR}/"
    return bamboo


def rows(server, sql, *args):
    with server.store.connect() as conn:
        return [dict(row) for row in conn.execute(sql, args).fetchall()]


def test_the_directory_is_the_active_staff(sandbox, client):
    directory = client.get_employee_directory()
    stored = rows(sandbox, "select * from bamboohr_employees where status = 'Active' order by id")
    assert [
        (e["id"], e["firstName"], e["lastName"], e["workEmail"], e["jobTitle"]) for e in directory
    ] == [
        (str(r["id"]), r["first_name"], r["last_name"], r["work_email"], r["job_title"])
        for r in stored
    ]


def test_a_custom_report_sent_as_xml_is_every_employee(sandbox, client):
    """PyBambooHR posts its report as a `<report>` document with no Content-Type."""
    fields = ["id", "firstName", "workEmail", "hireDate", "terminationDate", "status"]
    report = client.request_custom_report(fields, report_format="json", title="PyBambooHR")
    assert report["title"] == "PyBambooHR"
    assert [f["id"] for f in report["fields"]] == fields
    stored = rows(sandbox, "select * from bamboohr_employees order by id")
    assert report["employees"] == [
        {
            "id": str(r["id"]),
            "firstName": r["first_name"],
            "workEmail": r["work_email"],
            "hireDate": r["hire_date"],
            "terminationDate": r["termination_date"] or "0000-00-00",
            "status": r["status"],
        }
        for r in stored
    ]
    since = datetime(2026, 4, 1)
    changed = client.request_custom_report(["id"], report_format="json", last_changed=since)
    expected = rows(
        sandbox,
        "select id from bamboohr_employees where last_changed >= ? order by id",
        "2026-04-01T00:00:00Z",
    )
    assert [e["id"] for e in changed["employees"]] == [str(r["id"]) for r in expected]


def test_the_changed_compensation_table_is_the_stores(sandbox, client):
    tables = client.get_employee_changed_table("compensation", since=datetime(2000, 1, 1))
    parsed = sorted(
        (int(employee), row["startDate"], row["rate"], row["type"], row["reason"])
        for employee, table in tables["employees"].items()
        for row in table["rows"]
    )
    stored = rows(sandbox, "select * from bamboohr_compensation")
    assert parsed == sorted(
        (
            r["employee_id"],
            r["start_date"],
            f"{r['rate']} {r['currency']}",
            r["pay_type"],
            r["reason"],
        )
        for r in stored
    )


def test_changed_employees_are_the_stores(sandbox, client):
    changes = client.get_employee_changes(since=datetime(2026, 4, 1))
    stored = rows(
        sandbox,
        "select id, last_changed from bamboohr_employees where last_changed >= ?",
        "2026-04-01T00:00:00Z",
    )
    assert {k: v["lastChanged"] for k, v in changes["employees"].items()} == {
        str(r["id"]): r["last_changed"].replace("Z", "+00:00") for r in stored
    }


def test_time_off_is_the_stores(sandbox, client):
    requests_ = client.get_time_off_requests(start_date="2026-01-01", end_date="2026-12-31")
    stored = rows(
        sandbox,
        "select * from bamboohr_time_off where start_date <= '2026-12-31' "
        "and end_date >= '2026-01-01' order by id",
    )
    assert [
        (r["id"], r["employeeId"], r["start"], r["end"], r["status"]["status"], r["type"]["name"])
        for r in requests_
    ] == [
        (
            str(r["id"]),
            str(r["employee_id"]),
            r["start_date"],
            r["end_date"],
            r["status"],
            r["type_name"],
        )
        for r in stored
    ]
    assert stored
