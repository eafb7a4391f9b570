"""The sandbox's time tracking in Harvest's dialect: cursor paging, filters, credentials,
permissions and the shape of each record, checked against the store they are served from.

A firm takes seconds to generate, so a check that applies to several collections runs each as
a subtest of one test, against one firm.
"""

import http.client
import math
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import requests

from psa_pipeline.sandbox.harvest import INVALID_TOKEN
from psa_pipeline.sandbox.store import insert
from tests.helpers import AUTH, HARVEST_AUTH

COLLECTIONS = ("time_entries", "expenses", "users", "clients", "projects", "tasks")
WITH_IS_ACTIVE = ("users", "clients", "projects", "tasks")
BOOKINGS = {"time_entries": "hours", "expenses": "total_cost"}  # and the amount each carries
# Harvest lists reference data newest first by creation, bookings by spent date (then by id)
ORDER = {c: "created_at" for c in WITH_IS_ACTIVE} | {c: "spent_date" for c in BOOKINGS}
# what each object carries, as its reference documents it (help.getharvest.com/api-v2)
DOCUMENTED = {
    "time_entries": {
        "id", "spent_date", "user", "user_assignment", "client", "project", "task",
        "task_assignment", "external_reference", "invoice", "hours", "hours_without_timer",
        "rounded_hours", "notes", "is_locked", "locked_reason", "is_closed", "is_billed",
        "timer_started_at", "started_time", "ended_time", "is_running", "billable", "budgeted",
        "billable_rate", "cost_rate", "created_at", "updated_at",
    },
    "expenses": {
        "id", "client", "project", "expense_category", "user", "user_assignment", "receipt",
        "invoice", "notes", "units", "total_cost", "billable", "is_closed", "is_locked",
        "is_billed", "locked_reason", "spent_date", "created_at", "updated_at",
    },
    "users": {
        "id", "first_name", "last_name", "email", "telephone", "timezone",
        "has_access_to_all_future_projects", "is_contractor", "is_active", "weekly_capacity",
        "default_hourly_rate", "cost_rate", "roles", "access_roles", "avatar_url", "created_at",
        "updated_at",
    },
    "clients": {"id", "name", "is_active", "address", "statement_key", "currency", "created_at",
                "updated_at"},
    "projects": {
        "id", "client", "name", "code", "is_active", "is_billable", "is_fixed_fee", "bill_by",
        "hourly_rate", "budget", "budget_by", "budget_is_monthly", "notify_when_over_budget",
        "over_budget_notification_percentage", "over_budget_notification_date",
        "show_budget_to_all", "cost_budget", "cost_budget_include_expenses", "fee", "notes",
        "starts_on", "ends_on", "created_at", "updated_at",
    },
    "tasks": {"id", "name", "billable_by_default", "default_hourly_rate", "is_default",
              "is_active", "created_at", "updated_at"},
}  # fmt: skip


def pages(server, collection: str, headers=HARVEST_AUTH, **params) -> list[dict]:
    """Every page of a collection, following `links.next` as a client would."""
    url, bodies = f"{server.url}/harvest/v2/{collection}", []
    while url:
        response = requests.get(url, params=params, headers=headers, timeout=10)
        response.raise_for_status()
        bodies.append(response.json())
        assert len(bodies) <= bodies[0]["total_pages"], "links.next runs past the last page"
        url, params = bodies[-1]["links"]["next"], None  # the link carries the query
    return bodies


def served(server, collection: str, **params) -> list[dict]:
    return [record for body in pages(server, collection, **params) for record in body[collection]]


def stored(server, sql: str, *args) -> list[dict]:
    with server.store.connect() as conn:
        return [dict(row) for row in conn.execute(sql, args).fetchall()]


def beside_their_rows(server, collection: str) -> list[tuple[dict, dict]]:
    """Every record served, beside the store row it was served from."""
    rows = {row["id"]: row for row in stored(server, f"select * from harvest_{collection}")}
    records = served(server, collection)
    assert len(records) == len(rows) > 0
    return [(record, rows[record["id"]]) for record in records]


def newest_first(server, collection: str, where: str = "", *args) -> list[int]:
    order = ORDER[collection]
    sql = f"select id from harvest_{collection} {where} order by {order} desc, id desc"
    return ids(stored(server, sql, *args))


def ids(records: list[dict]) -> list[int]:
    return [record["id"] for record in records]


def test_cursor_paging_returns_every_record_once_newest_first(sandbox, subtests):
    for collection in COLLECTIONS:
        with subtests.test(collection=collection):
            expected = newest_first(sandbox, collection)
            per_page = max(1, len(expected) // 4)
            bodies = pages(sandbox, collection, per_page=per_page)
            assert len(bodies) == math.ceil(len(expected) / per_page) >= 4
            assert ids([r for body in bodies for r in body[collection]]) == expected
            first, middle, last = bodies[0], bodies[1:-1], bodies[-1]
            for body in bodies:
                assert (body["per_page"], body["total_entries"]) == (per_page, len(expected))
                assert body["total_pages"] == len(bodies)
            # numbers on the first and last pages only, as Harvest's cursor paging has them
            assert (first["page"], first["next_page"], first["previous_page"]) == (1, 2, None)
            assert all(
                (b["page"], b["next_page"], b["previous_page"]) == (None, None, None)
                for b in middle
            )
            assert (last["page"], last["next_page"]) == (len(bodies), None)
            assert last["previous_page"] == len(bodies) - 1
            assert all("cursor=" in b["links"]["next"] for b in bodies[:-1])
            assert all(b["links"]["next"].endswith("ref=next_cursor") for b in bodies[:-1])
            assert last["links"]["next"] is None and first["links"]["previous"] is None
            assert first["links"]["first"].endswith(f"page=1&per_page={per_page}&ref=first")
            assert last["links"]["last"].endswith(
                f"page={len(bodies)}&per_page={per_page}&ref=last"
            )
            # the previous link of the last page is the page before it
            before = requests.get(last["links"]["previous"], headers=HARVEST_AUTH, timeout=10)
            assert ids(before.json()[collection]) == ids(bodies[-2][collection])
            # a page asked for by number (links.last) is the same page
            by_number = requests.get(last["links"]["last"], headers=HARVEST_AUTH, timeout=10)
            assert ids(by_number.json()[collection]) == ids(last[collection])


def test_a_cursor_walk_is_stable_while_new_records_arrive(sandbox, subtests):
    for collection in BOOKINGS:
        with subtests.test(collection=collection):
            before = newest_first(sandbox, collection)
            url = f"{sandbox.url}/harvest/v2/{collection}"
            first = requests.get(
                url, params={"per_page": len(before) // 3}, headers=HARVEST_AUTH, timeout=10
            ).json()
            table = f"harvest_{collection}"
            newest = stored(sandbox, f"select * from {table} order by spent_date desc limit 1")[0]
            oldest = stored(sandbox, f"select * from {table} order by spent_date limit 1")[0]
            with sandbox.store.transaction() as conn:  # new activity, and an old record edited
                insert(conn, table, [newest | {"id": newest["id"] + 10_000}])
                conn.execute(
                    f"update {table} set updated_at = '2099-01-01T00:00:00Z' where id = ?",
                    (oldest["id"],),
                )
            walked, next_url = list(first[collection]), first["links"]["next"]
            while next_url:
                body = requests.get(next_url, headers=HARVEST_AUTH, timeout=10).json()
                walked += body[collection]
                next_url = body["links"]["next"]
            assert ids(walked) == before


def test_per_page_above_2000_and_a_forged_cursor_are_422(sandbox):
    url = f"{sandbox.url}/harvest/v2/time_entries"
    too_many = requests.get(url, params={"per_page": 2001}, headers=HARVEST_AUTH, timeout=10)
    assert too_many.status_code == 422
    forged = requests.get(url, params={"cursor": "not-a-cursor"}, headers=HARVEST_AUTH, timeout=10)
    assert forged.status_code == 422


def test_updated_since_returns_exactly_the_rows_changed_since(sandbox, subtests):
    for collection in COLLECTIONS:
        with subtests.test(collection=collection):
            table = f"harvest_{collection}"
            moments = sorted(
                r["updated_at"] for r in stored(sandbox, f"select distinct updated_at from {table}")
            )
            since = moments[len(moments) // 2]
            expected = newest_first(sandbox, collection, "where updated_at >= ?", since)
            per_page = max(1, len(expected) // 2)  # the filter must survive links.next
            changed = served(sandbox, collection, updated_since=since, per_page=per_page)
            assert ids(changed) == expected and expected
            assert all(record["updated_at"] >= since for record in changed)
            after_the_last = datetime.fromisoformat(moments[-1]) + timedelta(seconds=1)
            assert served(sandbox, collection, updated_since=after_the_last.isoformat()) == []


def status_without_user_agent(url: str) -> int:
    """requests (urllib3) always sends a User-Agent; http.client sends none unless told."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("GET", parts.path, headers=HARVEST_AUTH)
        return connection.getresponse().status
    finally:
        connection.close()


def test_harvest_refuses_a_request_as_harvest_does(sandbox, subtests):
    """401 `invalid_token` for no token, a wrong one or no account; 400 without a User-Agent."""
    refused = {
        "no token": {"Harvest-Account-Id": HARVEST_AUTH["Harvest-Account-Id"]},
        "a wrong token": HARVEST_AUTH | {"Authorization": "Bearer not-the-token"},
        "no account": AUTH,
        "another account": HARVEST_AUTH | {"Harvest-Account-Id": "999999"},
    }
    for collection in COLLECTIONS:
        url = f"{sandbox.url}/harvest/v2/{collection}"
        for case, headers in refused.items():
            with subtests.test(collection=collection, case=case):
                response = requests.get(url, headers=headers, timeout=10)
                assert (response.status_code, response.json()) == (401, INVALID_TOKEN)
        with subtests.test(collection=collection, case="no User-Agent"):
            assert status_without_user_agent(url) == 400
            assert requests.get(url, headers=HARVEST_AUTH, timeout=10).status_code == 200


def test_a_members_token_lists_only_its_own_time_and_no_reference_data(sandbox, subtests):
    me = requests.get(f"{sandbox.url}/harvest/v2/users/me", headers=HARVEST_AUTH, timeout=10)
    assert me.json()["access_roles"] == ["administrator"]
    requests.post(
        f"{sandbox.url}/_sandbox/permissions", json={"harvest": ["administrator"]}, timeout=10
    ).raise_for_status()
    member = requests.get(f"{sandbox.url}/harvest/v2/users/me", headers=HARVEST_AUTH, timeout=10)
    assert member.json()["access_roles"] == ["member"]
    mine = member.json()["id"]
    for collection in BOOKINGS:
        with subtests.test(collection=collection):
            own = served(sandbox, collection)
            assert ids(own) == newest_first(sandbox, collection, "where user_id = ?", mine)
            assert own and len(own) < len(newest_first(sandbox, collection))
    for collection in WITH_IS_ACTIVE:
        with subtests.test(collection=collection):
            url = f"{sandbox.url}/harvest/v2/{collection}"
            assert requests.get(url, headers=HARVEST_AUTH, timeout=10).status_code == 403


def test_numbers_too_large_for_sqlite_are_a_4xx_with_a_reason(sandbox, subtests):
    huge = str(2**64)  # past SQLite's 64-bit integers
    for collection, param in [(c, p) for c in COLLECTIONS for p in ("page", "per_page")] + [
        ("projects", "client_id"),
        ("expenses", "project_id"),
        ("time_entries", "user_id"),
    ]:
        with subtests.test(collection=collection, param=param):
            response = requests.get(
                f"{sandbox.url}/harvest/v2/{collection}",
                params={param: huge},
                headers=HARVEST_AUTH,
                timeout=10,
            )
            assert response.status_code == 422 and param in response.text


def test_is_active_splits_each_collection_as_the_store_does(sandbox, subtests):
    for collection in WITH_IS_ACTIVE:
        with subtests.test(collection=collection):
            for flag in (True, False):
                expected = newest_first(sandbox, collection, "where is_active = ?", flag)
                records = served(sandbox, collection, is_active=str(flag).lower())
                assert ids(records) == expected
                assert all(record["is_active"] is flag for record in records)
            assert newest_first(sandbox, collection, "where is_active = 1")


def test_from_and_to_bound_the_spent_date(sandbox, subtests):
    for collection in BOOKINGS:
        with subtests.test(collection=collection):
            days = sorted(
                r["spent_date"]
                for r in stored(sandbox, f"select spent_date from harvest_{collection}")
            )
            start, end = days[len(days) // 4], days[3 * len(days) // 4]
            where = "where spent_date between ? and ?"
            expected = newest_first(sandbox, collection, where, start, end)
            bounded = served(
                sandbox, collection, per_page=len(expected) // 2, **{"from": start, "to": end}
            )
            assert ids(bounded) == expected and 0 < len(expected) < len(days)


def test_client_id_selects_each_clients_projects(sandbox):
    clients = stored(sandbox, "select id from harvest_clients")
    assert clients
    for client in clients:
        expected = newest_first(sandbox, "projects", "where client_id = ?", client["id"])
        projects = served(sandbox, "projects", client_id=client["id"])
        assert ids(projects) == expected
        assert all(project["client"]["id"] == client["id"] for project in projects)
    assert served(sandbox, "projects", client_id=2**40) == []


def test_project_id_selects_each_projects_bookings(sandbox, subtests):
    projects = [p["id"] for p in stored(sandbox, "select id from harvest_projects")]
    for collection in BOOKINGS:
        with subtests.test(collection=collection):
            seen = 0
            for project in projects:
                expected = newest_first(sandbox, collection, "where project_id = ?", project)
                records = served(sandbox, collection, project_id=project)
                assert ids(records) == expected
                assert all(record["project"]["id"] == project for record in records)
                seen += len(records)
            assert 0 < seen
            assert served(sandbox, collection, project_id=2**40) == []


def test_each_record_carries_exactly_what_its_reference_documents(sandbox, subtests):
    for collection in COLLECTIONS:
        with subtests.test(collection=collection):
            records = served(sandbox, collection)
            assert records and all(set(record) == DOCUMENTED[collection] for record in records)


def test_a_time_entry_names_its_client_and_project_by_id_and_name_only(sandbox):
    for entry, row in beside_their_rows(sandbox, "time_entries"):
        assert entry["client"] == {"id": row["client_id"], "name": row["client_name"]}
        assert entry["project"] == {"id": row["project_id"], "name": row["project_name"]}
        assert entry["task"] == {"id": row["task_id"], "name": row["task_name"]}
        assert (entry["hours"], entry["billable_rate"]) == (row["hours"], row["billable_rate"])
        assert entry["is_closed"] is bool(row["is_closed"]) and entry["invoice"] is None


def test_a_projects_client_is_the_stored_client(sandbox):
    clients = {
        c["id"]: {"id": c["id"], "name": c["name"], "currency": c["currency"]}
        for c in stored(sandbox, "select id, name, currency from harvest_clients")
    }
    for project, row in beside_their_rows(sandbox, "projects"):
        assert project["client"] == clients[row["client_id"]]
        assert (project["name"], project["code"], project["fee"], project["ends_on"]) == (
            row["name"],
            row["code"],
            row["fee"],
            row["ends_on"],
        )
        assert project["is_fixed_fee"] is bool(row["is_fixed_fee"])


def test_an_expense_nests_what_the_store_keeps_flat(sandbox):
    for expense, row in beside_their_rows(sandbox, "expenses"):
        assert expense["project"] == {
            "id": row["project_id"],
            "name": row["project_name"],
            "code": row["project_code"],
        }
        assert expense["client"] == {
            "id": row["client_id"],
            "name": row["client_name"],
            "currency": row["client_currency"],
        }
        assert expense["user"] == {"id": row["user_id"], "name": row["user_name"]}
        assert expense["expense_category"] == {
            "id": row["expense_category_id"],
            "name": row["expense_category_name"],
            "unit_price": None,
            "unit_name": None,
        }
        assert expense["total_cost"] == row["total_cost"]
        assert expense["is_locked"] is bool(row["is_locked"])
        assert (expense["locked_reason"] is None) is not expense["is_locked"]


def test_a_user_carries_harvest_time_zones_roles_and_capacity_in_seconds(sandbox):
    users = served(sandbox, "users")
    assert {u["timezone"] for u in users} <= {"Eastern Time (US & Canada)", "London", "Berlin"}
    assert all(u["weekly_capacity"] == 40 * 3600 and u["roles"] for u in users)
    assert sorted(role for u in users for role in u["access_roles"]).count("administrator") == 1


def test_a_malformed_booking_is_served_as_stored(sandbox, subtests):
    """No project id and an amount that is not a number: served as stored, never a 500."""
    for collection, amount in BOOKINGS.items():
        with subtests.test(collection=collection):
            table = f"harvest_{collection}"
            template = stored(sandbox, f"select * from {table} order by spent_date desc, id desc")[
                0
            ]
            malformed = template | {"id": template["id"] + 1, "project_id": None, amount: "7,5"}
            with sandbox.store.transaction() as conn:
                insert(conn, table, [malformed])
            first = requests.get(
                f"{sandbox.url}/harvest/v2/{collection}",
                params={"per_page": 1},
                headers=HARVEST_AUTH,
                timeout=10,
            )
            [record] = first.json()[collection]
            assert record["id"] == malformed["id"] and record[amount] == "7,5"
            assert record["project"]["id"] is None
            assert record["project"]["name"] == template["project_name"]
