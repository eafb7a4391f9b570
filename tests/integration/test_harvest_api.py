"""The sandbox's time tracking in Harvest's dialect: reference data and expenses, their paging,
filters and nested references, checked against the store they are served from.

Time entries' paging and `updated_since` are covered in test_sandbox_api.py. A firm takes
seconds to generate, so a check that applies to several collections runs each as a subtest of
one test, against one firm.
"""

import math
from datetime import datetime, timedelta

import requests

from psa_pipeline.sandbox.store import insert
from tests.helpers import AUTH, HARVEST_AUTH

COLLECTIONS = ("users", "clients", "projects", "tasks", "expenses")
WITH_IS_ACTIVE = ("users", "clients", "projects", "tasks")
BOOKINGS = {"time_entries": "hours", "expenses": "total_cost"}  # and the amount each carries


def pages(server, collection: str, **params) -> list[dict]:
    """Every page of a collection, following `links.next` as a client would."""
    url, bodies = f"{server.url}/harvest/v2/{collection}", []
    while url:
        response = requests.get(url, params=params, headers=HARVEST_AUTH, timeout=10)
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


def ids(records: list[dict]) -> list[int]:
    return [record["id"] for record in records]


def test_paging_returns_every_record_exactly_once_in_id_order(sandbox, subtests):
    for collection in COLLECTIONS:
        with subtests.test(collection=collection):
            stored_ids = ids(stored(sandbox, f"select id from harvest_{collection} order by id"))
            assert len(stored_ids) > 1
            per_page = max(1, len(stored_ids) // 3)
            bodies = pages(sandbox, collection, per_page=per_page)
            assert len(bodies) == math.ceil(len(stored_ids) / per_page) > 1
            assert ids([r for body in bodies for r in body[collection]]) == stored_ids
            first, last = bodies[0], bodies[-1]
            assert first["total_entries"] == len(stored_ids)
            assert first["total_pages"] == len(bodies) and first["per_page"] == per_page
            assert first["previous_page"] is None and first["links"]["previous"] is None
            assert first["next_page"] == 2 and first["links"]["first"].startswith(sandbox.url)
            assert last["next_page"] is None and last["links"]["next"] is None
            assert last["page"] == last["previous_page"] + 1 == len(bodies)
            assert last["links"]["last"] == first["links"]["last"]


def test_updated_since_returns_exactly_the_rows_changed_since(sandbox, subtests):
    for collection in COLLECTIONS:
        with subtests.test(collection=collection):
            table = f"harvest_{collection}"
            moments = sorted(
                r["updated_at"] for r in stored(sandbox, f"select distinct updated_at from {table}")
            )
            since = moments[len(moments) // 2]
            expected = stored(
                sandbox, f"select id from {table} where updated_at >= ? order by id", since
            )
            per_page = max(1, len(expected) // 2)  # the filter must survive links.next
            changed = served(sandbox, collection, updated_since=since, per_page=per_page)
            assert ids(changed) == ids(expected) and expected
            assert all(record["updated_at"] >= since for record in changed)
            after_the_last = datetime.fromisoformat(moments[-1]) + timedelta(seconds=1)
            assert served(sandbox, collection, updated_since=after_the_last.isoformat()) == []


def test_401_without_credentials_or_account_and_403_with_a_wrong_token(sandbox, subtests):
    wrong = HARVEST_AUTH | {"Authorization": "Bearer not-the-token"}
    for collection in COLLECTIONS:
        with subtests.test(collection=collection):
            url = f"{sandbox.url}/harvest/v2/{collection}"
            assert requests.get(url, timeout=10).status_code == 401
            no_account = requests.get(url, headers=AUTH, timeout=10)
            assert no_account.status_code == 401
            assert requests.get(url, headers=wrong, timeout=10).status_code == 403
            assert requests.get(url, headers=HARVEST_AUTH, timeout=10).status_code == 200


def test_numbers_too_large_for_sqlite_are_a_4xx_with_a_reason(sandbox, subtests):
    huge = str(2**64)  # past SQLite's 64-bit integers
    for collection, param in [(c, p) for c in COLLECTIONS for p in ("page", "per_page")] + [
        ("projects", "client_id"),
        ("expenses", "project_id"),
        ("time_entries", "project_id"),
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
            table = f"harvest_{collection}"
            for flag in (True, False):
                expected = stored(
                    sandbox, f"select id from {table} where is_active = ? order by id", flag
                )
                records = served(sandbox, collection, is_active=str(flag).lower())
                assert ids(records) == ids(expected)
                assert all(record["is_active"] is flag for record in records)
            assert stored(sandbox, f"select id from {table} where is_active = 1")


def test_from_and_to_bound_the_expense_spent_date(sandbox):
    days = sorted(
        r["spent_date"] for r in stored(sandbox, "select spent_date from harvest_expenses")
    )
    start, end = days[len(days) // 4], days[3 * len(days) // 4]
    expected = stored(
        sandbox,
        "select id from harvest_expenses where spent_date between ? and ? order by id",
        start,
        end,
    )
    bounded = served(sandbox, "expenses", **{"from": start, "to": end})
    assert ids(bounded) == ids(expected) and 0 < len(expected) < len(days)
    assert all(start <= expense["spent_date"] <= end for expense in bounded)


def test_client_id_selects_each_clients_projects(sandbox):
    clients = stored(sandbox, "select id from harvest_clients")
    assert clients
    for client in clients:
        expected = stored(
            sandbox, "select id from harvest_projects where client_id = ? order by id", client["id"]
        )
        projects = served(sandbox, "projects", client_id=client["id"])
        assert ids(projects) == ids(expected)
        assert all(project["client"]["id"] == client["id"] for project in projects)
    assert served(sandbox, "projects", client_id=2**40) == []


def test_project_id_selects_each_projects_bookings(sandbox, subtests):
    projects = [p["id"] for p in stored(sandbox, "select id from harvest_projects")]
    for collection in BOOKINGS:
        with subtests.test(collection=collection):
            table = f"harvest_{collection}"
            seen = 0
            for project in projects:
                expected = stored(
                    sandbox, f"select id from {table} where project_id = ? order by id", project
                )
                records = served(sandbox, collection, project_id=project)
                assert ids(records) == ids(expected)
                assert all(record["project"]["id"] == project for record in records)
                seen += len(records)
            assert 0 < seen
            assert served(sandbox, collection, project_id=2**40) == []


def test_a_projects_client_is_the_stored_client(sandbox):
    clients = {
        c["id"]: {"id": c["id"], "name": c["name"], "currency": c["currency"]}
        for c in stored(sandbox, "select id, name, currency from harvest_clients")
    }
    rows = {p["id"]: p for p in stored(sandbox, "select * from harvest_projects")}
    projects = served(sandbox, "projects")
    assert len(projects) == len(rows) > 0
    for project in projects:
        row = rows[project["id"]]
        assert project["client"] == clients[row["client_id"]]
        assert (project["name"], project["code"], project["fee"], project["ends_on"]) == (
            row["name"],
            row["code"],
            row["fee"],
            row["ends_on"],
        )
        assert project["is_fixed_fee"] is bool(row["is_fixed_fee"])


def test_an_expense_nests_what_the_store_keeps_flat(sandbox):
    rows = {e["id"]: e for e in stored(sandbox, "select * from harvest_expenses")}
    expenses = served(sandbox, "expenses")
    assert len(expenses) == len(rows) > 0
    for expense in expenses:
        row = rows[expense["id"]]
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
        }
        assert expense["total_cost"] == row["total_cost"]
        assert expense["is_locked"] is bool(row["is_locked"])
        assert (expense["locked_reason"] is None) is not expense["is_locked"]


def test_a_malformed_booking_is_served_as_stored(sandbox, subtests):
    """No project id and an amount that is not a number: served as stored, never a 500."""
    for collection, amount in BOOKINGS.items():
        with subtests.test(collection=collection):
            table = f"harvest_{collection}"
            template = stored(sandbox, f"select * from {table} order by id desc limit 1")[0]
            malformed = template | {"id": template["id"] + 1, "project_id": None, amount: "7,5"}
            with sandbox.store.transaction() as conn:
                insert(conn, table, [malformed])
            last_page = len(stored(sandbox, f"select id from {table}"))
            [body] = pages(sandbox, collection, per_page=1, page=last_page)
            [record] = body[collection]
            assert record["id"] == malformed["id"] and record[amount] == "7,5"
            assert record["project"] == {
                "id": None,
                "name": template["project_name"],
                "code": template["project_code"],
            }
