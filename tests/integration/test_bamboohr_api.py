"""The sandbox's HR system in BambooHR's dialect, and its agreement with the rest of the firm."""

import base64

import pytest
import requests

from tests.helpers import BAMBOOHR, BAMBOOHR_AUTH


def get(server, path, **params):
    response = requests.get(
        server.url + BAMBOOHR + path, params=params, headers=BAMBOOHR_AUTH, timeout=10
    )
    response.raise_for_status()
    return response.json()


def rows(server, sql, *args):
    with server.store.connect() as conn:
        return [tuple(row) for row in conn.execute(sql, args).fetchall()]


def test_the_directory_lists_exactly_the_current_staff(sandbox):
    directory = get(sandbox, "/employees/directory")
    active = {
        r[0] for r in rows(sandbox, "select id from bamboohr_employees where status = 'Active'")
    }
    assert {int(e["id"]) for e in directory["employees"]} == active and active


def test_changed_since_returns_exactly_the_changes(sandbox):
    since = "2026-04-01T00:00:00Z"
    changed = get(sandbox, "/employees/changed", since=since)["employees"]
    expected = {
        r[0]
        for r in rows(sandbox, "select id from bamboohr_employees where last_changed >= ?", since)
    }
    assert {int(k) for k in changed} == expected
    everyone = get(sandbox, "/employees/changed", since="2000-01-01T00:00:00Z")["employees"]
    assert len(everyone) == rows(sandbox, "select count(*) from bamboohr_employees")[0][0]
    assert {e["action"] for e in everyone.values()} == {"Inserted"}


def test_compensation_history_drives_the_cost_rate_on_each_time_entry(sandbox):
    tables = get(sandbox, "/employees/changed/tables/compensation", since="2000-01-01T00:00:00Z")
    history = {
        int(employee): sorted((row["startDate"], row["rate"]["value"]) for row in entry["rows"])
        for employee, entry in tables["employees"].items()
    }
    # the time tool numbers its users its own way: they are the same people by e-mail
    entries = rows(
        sandbox,
        "select hr.id, e.spent_date, e.cost_rate from harvest_time_entries e "
        "join harvest_users u on u.id = e.user_id join bamboohr_employees hr on hr.work_email = u.email",
    )
    assert len(entries) == rows(sandbox, "select count(*) from harvest_time_entries")[0][0]
    for employee_id, spent, cost_rate in entries[:: max(1, len(entries) // 500)]:
        in_force = [rate for starts, rate in history[employee_id] if starts <= spent][-1]
        assert f"{cost_rate:.2f}" == in_force


def test_nobody_logs_time_on_holiday(sandbox):
    requests_ = get(sandbox, "/time_off/requests", start="2020-01-01", end="2030-12-31")
    assert requests_ and all(r["status"]["status"] == "approved" for r in requests_)
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


def test_a_custom_report_covers_leavers_too(sandbox):
    response = requests.post(
        sandbox.url + BAMBOOHR + "/reports/custom",
        params={"format": "JSON"},
        json={"fields": ["id", "hireDate", "terminationDate", "status"]},
        headers=BAMBOOHR_AUTH,
        timeout=10,
    )
    report = response.json()["employees"]
    assert len(report) == rows(sandbox, "select count(*) from bamboohr_employees")[0][0]
    leavers = [e for e in report if e["status"] == "Inactive"]
    assert all(e["terminationDate"] for e in leavers)
    unknown = requests.post(
        sandbox.url + BAMBOOHR + "/reports/custom",
        json={"fields": ["salary"]},
        headers=BAMBOOHR_AUTH,
        timeout=10,
    )
    assert unknown.status_code == 400 and "salary" in unknown.json()["detail"]


@pytest.mark.parametrize(
    "path", ["/employees/directory", "/time_off/requests?start=2026-01-01&end=2026-01-31"]
)
def test_401_without_and_403_with_a_wrong_key(sandbox, path):
    url = sandbox.url + BAMBOOHR + path
    assert requests.get(url, timeout=10).status_code == 401
    wrong = "Basic " + base64.b64encode(b"not-the-key:x").decode()
    assert requests.get(url, headers={"Authorization": wrong}, timeout=10).status_code == 403
    other_company = url.replace("/psa-sandbox/", "/someone-else/")
    assert requests.get(other_company, headers=BAMBOOHR_AUTH, timeout=10).status_code == 404
