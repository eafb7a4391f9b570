"""The sandbox's HR system in BambooHR's dialect, and its agreement with the rest of the firm."""

import base64
import xml.etree.ElementTree as ET

import pytest
import requests

from tests.helpers import BAMBOOHR, BAMBOOHR_AUTH

JSON = BAMBOOHR_AUTH | {"Accept": "application/json"}


def get(server, path, headers=JSON, **params):
    response = requests.get(
        server.url + BAMBOOHR + path, params=params, headers=headers, timeout=10
    )
    response.raise_for_status()
    return response.json() if headers is JSON else ET.fromstring(response.text)


def report(server, body, params=None, headers=BAMBOOHR_AUTH, **kwargs):
    return requests.post(
        server.url + BAMBOOHR + "/reports/custom",
        params={"format": "JSON"} if params is None else params,
        json=body,
        headers=headers,
        timeout=10,
        **kwargs,
    )


def rows(server, sql, *args):
    with server.store.connect() as conn:
        return [tuple(row) for row in conn.execute(sql, args).fetchall()]


def test_answers_are_xml_unless_json_is_asked_for(sandbox):
    url = sandbox.url + BAMBOOHR + "/employees/directory"
    as_xml = requests.get(url, headers=BAMBOOHR_AUTH, timeout=10)
    assert as_xml.headers["content-type"].startswith("text/xml")
    directory = ET.fromstring(as_xml.text)
    as_json = requests.get(url, headers=JSON, timeout=10)
    assert as_json.headers["content-type"] == "application/json"
    xml_ids = {e.get("id") for e in directory.iterfind("employees/employee")}
    assert xml_ids == {e["id"] for e in as_json.json()["employees"]}


def test_the_directory_lists_exactly_the_current_staff_and_is_a_404_when_empty(sandbox):
    directory = get(sandbox, "/employees/directory")
    active = {
        r[0] for r in rows(sandbox, "select id from bamboohr_employees where status = 'Active'")
    }
    assert {int(e["id"]) for e in directory["employees"]} == active and active
    assert all(isinstance(e["id"], str) for e in directory["employees"])
    with sandbox.store.connect() as conn:
        conn.execute("update bamboohr_employees set status = 'Inactive'")
    empty = requests.get(sandbox.url + BAMBOOHR + "/employees/directory", headers=JSON, timeout=10)
    assert empty.status_code == 404 and empty.headers["X-BambooHR-Error-Message"]


def test_changed_since_returns_exactly_the_changes(sandbox):
    since = "2026-04-01T00:00:00Z"
    changed = get(sandbox, "/employees/changed", since=since)["employees"]
    expected = {
        r[0]
        for r in rows(sandbox, "select id from bamboohr_employees where last_changed >= ?", since)
    }
    assert {int(k) for k in changed} == expected
    assert all(c["lastChanged"].endswith("+00:00") for c in changed.values())
    # the same moment with an offset, as BambooHR's other four forms write it
    same = get(sandbox, "/employees/changed/", since="2026-04-01T02:00:00+0200")["employees"]
    assert same == changed
    everyone = get(sandbox, "/employees/changed", since="2000-01-01T00:00:00Z")["employees"]
    assert len(everyone) == rows(sandbox, "select count(*) from bamboohr_employees")[0][0]
    assert {e["action"] for e in everyone.values()} == {"Inserted"}
    xml = get(sandbox, "/employees/changed", headers=BAMBOOHR_AUTH, since=since)
    assert xml.tag == "changeList" and len(xml.findall("employee")) == len(changed)


@pytest.mark.parametrize("since", ["2026-04-01", "2026-04-01T00:00:00.000Z", "yesterday", None])
def test_a_since_in_no_documented_form_is_a_400_with_the_reason_in_a_header(sandbox, since):
    response = requests.get(
        sandbox.url + BAMBOOHR + "/employees/changed/tables/compensation",
        params={} if since is None else {"since": since},
        headers=JSON,
        timeout=10,
    )
    assert response.status_code == 400 and response.text == ""
    assert "ISO 8601" in response.headers["X-BambooHR-Error-Message"]


def test_a_pay_change_is_a_change_of_the_employee(sandbox):
    """BambooHR's changed-table call works on the employee's last change."""
    assert rows(
        sandbox,
        "select count(*) from bamboohr_compensation c join bamboohr_employees e "
        "on e.id = c.employee_id where e.last_changed < c.last_changed",
    ) == [(0,)]
    since = "2026-01-01T00:00:00Z"
    tables = get(sandbox, "/employees/changed/tables/compensation", since=since)
    changed = get(sandbox, "/employees/changed", since=since)["employees"]
    assert tables["table"] == "compensation" and set(tables["employees"]) == set(changed)
    # every row of each changed employee, stamped with the employee's last change
    for employee_id, table in tables["employees"].items():
        (count,) = rows(
            sandbox, "select count(*) from bamboohr_compensation where employee_id = ?", employee_id
        )[0]
        assert len(table["rows"]) == count
        assert table["lastChanged"] == changed[employee_id]["lastChanged"].replace("+00:00", "Z")


def test_compensation_history_drives_the_cost_rate_on_each_time_entry(sandbox):
    tables = get(sandbox, "/employees/changed/tables/compensation", since="2000-01-01T00:00:00Z")
    history = {}
    for employee, entry in tables["employees"].items():
        for row in entry["rows"]:
            assert "id" not in row and "employeeId" not in row  # as BambooHR sends them
            amount, currency = row["rate"].split(" ")
            assert len(currency) == 3 and row["paidPer"] == "Hour"
            history.setdefault(int(employee), []).append((row["startDate"], amount))
    # the time tool numbers its users its own way: they are the same people by e-mail
    entries = rows(
        sandbox,
        "select hr.id, e.spent_date, e.cost_rate from harvest_time_entries e "
        "join harvest_users u on u.id = e.user_id join bamboohr_employees hr on hr.work_email = u.email",
    )
    assert len(entries) == rows(sandbox, "select count(*) from harvest_time_entries")[0][0]
    for employee_id, spent, cost_rate in entries[:: max(1, len(entries) // 500)]:
        in_force = [rate for starts, rate in sorted(history[employee_id]) if starts <= spent][-1]
        assert f"{cost_rate:.2f}" == in_force


def test_each_table_row_ends_the_day_before_the_next_starts(sandbox):
    tables = get(sandbox, "/employees/changed/tables/compensation", since="2000-01-01T00:00:00Z")
    for entry in tables["employees"].values():
        table = entry["rows"]
        assert table[-1]["endDate"] is None
        for row, following in zip(table, table[1:], strict=False):
            assert row["endDate"] < following["startDate"]


def test_nobody_logs_time_on_holiday_and_a_holiday_takes_its_weekdays(sandbox):
    requests_ = get(sandbox, "/time_off/requests", start="2020-01-01", end="2030-12-31")
    assert requests_ and all(r["status"]["status"] == "approved" for r in requests_)
    for request in requests_:
        assert len(request["status"]["lastChanged"]) == len(request["created"]) == 10  # dates
        assert request["amount"] == {"unit": "days", "amount": str(len(request["dates"]))}
        assert all(amount == "1" for amount in request["dates"].values())
    clashes = rows(
        sandbox,
        "select count(*) from harvest_time_entries t join harvest_users u on u.id = t.user_id "
        "join bamboohr_employees hr on hr.work_email = u.email "
        "join bamboohr_time_off o on o.employee_id = hr.id "
        "and t.spent_date between o.start_date and o.end_date",
    )
    assert clashes == [(0,)]
    window = get(sandbox, "/time_off/requests", start="2026-05-01", end="2026-05-31")
    assert all(r["start"] <= "2026-05-31" and r["end"] >= "2026-05-01" for r in window)
    xml = get(
        sandbox, "/time_off/requests", headers=BAMBOOHR_AUTH, start="2026-05-01", end="2026-05-31"
    )
    assert [r.get("id") for r in xml.iterfind("request")] == [r["id"] for r in window]
    missing = requests.get(sandbox.url + BAMBOOHR + "/time_off/requests", headers=JSON, timeout=10)
    assert missing.status_code == 400


def test_a_custom_report_covers_leavers_and_leaves_unknown_fields_out(sandbox):
    answer = report(sandbox, {"fields": ["id", "hireDate", "terminationDate", "status", "salary"]})
    assert answer.status_code == 200
    body = answer.json()
    assert [f["id"] for f in body["fields"]] == ["id", "hireDate", "terminationDate", "status"]
    assert len(body["employees"]) == rows(sandbox, "select count(*) from bamboohr_employees")[0][0]
    assert all("salary" not in e for e in body["employees"])
    leavers = [e for e in body["employees"] if e["status"] == "Inactive"]
    staying = [e for e in body["employees"] if e["status"] == "Active"]
    assert leavers and all(e["terminationDate"] != "0000-00-00" for e in leavers)
    assert staying and all(e["terminationDate"] == "0000-00-00" for e in staying)


def test_a_report_filtered_on_last_changed_keeps_the_changes(sandbox):
    since = "2026-04-01T00:00:00Z"
    body = {"fields": ["id", "lastChanged"], "filters": {"lastChanged": {"value": since}}}
    changed = report(sandbox, body).json()["employees"]
    expected = rows(sandbox, "select id from bamboohr_employees where last_changed >= ?", since)
    assert sorted(int(e["id"]) for e in changed) == sorted(r[0] for r in expected)
    assert all(e["lastChanged"] >= "2026-04-01T00:00:00+00:00" for e in changed)


def test_a_report_body_is_json_only_when_sent_as_exactly_application_json(sandbox):
    xml_body = '<report><title>t</title><fields><field id="workEmail" /></fields></report>'
    as_xml = requests.post(
        sandbox.url + BAMBOOHR + "/reports/custom/",
        params={"format": "json"},
        data=xml_body,
        headers=BAMBOOHR_AUTH,
        timeout=10,
    )
    assert [f["id"] for f in as_xml.json()["fields"]] == ["workEmail"]
    charset = report(
        sandbox,
        None,
        headers=BAMBOOHR_AUTH | {"Content-Type": "application/json; charset=UTF-8"},
        data='{"fields": ["id"]}',
    )
    assert charset.status_code == 400
    assert charset.headers["X-BambooHR-Error-Message"] == "Malformed XML"


def test_a_report_answers_in_the_format_asked_for(sandbox):
    fields = {"fields": ["id", "firstName"]}
    xml = report(sandbox, fields, params={"format": "xml"})
    assert xml.headers["content-type"].startswith("text/xml")
    assert ET.fromstring(xml.text).find("employees/employee").get("id")
    by_accept = report(sandbox, fields, params={}, headers=JSON)
    assert by_accept.json()["employees"]
    assert report(sandbox, fields, params={}).status_code == 404  # no format, Accept */*
    assert report(sandbox, fields, params={"format": "gif"}).status_code == 404


def test_a_user_who_may_not_see_compensation_gets_its_fields_left_out(sandbox):
    requests.post(
        f"{sandbox.url}/_sandbox/permissions", json={"bamboohr": ["compensation"]}, timeout=10
    ).raise_for_status()
    body = report(sandbox, {"fields": ["id", "payRate", "workEmail"]}).json()
    assert [f["id"] for f in body["fields"]] == ["id", "workEmail"]
    tables = get(sandbox, "/employees/changed/tables/compensation", since="2000-01-01T00:00:00Z")
    assert tables["employees"] and all(
        row == {} for entry in tables["employees"].values() for row in entry["rows"]
    )


@pytest.mark.parametrize(
    "path", ["/employees/directory", "/time_off/requests?start=2026-01-01&end=2026-01-31"]
)
def test_401_without_or_with_a_wrong_key_and_404_for_another_company(sandbox, path):
    url = sandbox.url + BAMBOOHR + path
    missing = requests.get(url, timeout=10)
    assert missing.status_code == 401 and missing.text == ""
    assert missing.headers["X-BambooHR-Error-Message"]
    wrong = "Basic " + base64.b64encode(b"not-the-key:x").decode()
    assert requests.get(url, headers={"Authorization": wrong}, timeout=10).status_code == 401
    other_company = url.replace("/psa-sandbox/", "/someone-else/")
    assert requests.get(other_company, headers=BAMBOOHR_AUTH, timeout=10).status_code == 404
