"""Harvest's published example responses, replayed through the ingest asset and staging.

The payloads are the reference's own (fixtures/harvest/SOURCES.md). They prove what the
sandbox alone cannot: that what lands is what Harvest documents, typed. A time entry names its
project and client by id and name only, so its project code must come from the project and its
currency from the client; a cursor walk follows `links.next` as given; a second run asks each
list only for what changed since the newest `updated_at` the first run loaded.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

import dagster as dg
import pytest

from psa_pipeline.settings import SourceEndpoint
from tests.conformance.harness import land, rows, settings_for_vendor, stage
from tests.conformance.replay import Exchange, ReplayServer, fixture

TOKEN, ACCOUNT = "conformance-token", "123456"
REFERENCE = ("expenses", "users", "clients", "projects", "tasks")
EVERY_REQUEST = {  # what Harvest wants on every request (overview: general)
    "authorization": f"Bearer {TOKEN}",
    "harvest-account-id": ACCOUNT,
    "user-agent": re.compile(r"\S.*\(https?://\S+\)"),  # an app name and a way to reach it
}
FIRST_RUN = "1970-01-01T00:00:00Z"
# each list's newest updated_at in its example: what a second run must ask from
NEWEST = {
    "time_entries": "2017-06-27T16:47:14Z",
    "expenses": "2017-06-27T16:47:14Z",
    "users": "2020-05-01T22:34:52Z",
    "clients": "2017-06-26T21:34:11Z",
    "projects": "2017-06-26T21:54:46Z",
    "tasks": "2017-06-26T22:08:25Z",
}


def listed(name: str, payload, since: str = FIRST_RUN, **params) -> Exchange:
    return Exchange(
        "GET",
        f"/v2/{name}",
        payload,
        params={"updated_since": since, "per_page": "2000", **params},
        headers=EVERY_REQUEST,
    )


def empty(name: str) -> dict:
    return {name: [], **fixture("harvest", "empty_page.json")}


def cursor_page(number: int, cursor: str) -> Exchange:
    """A page the connector reaches only by following the previous page's `links.next`."""
    payload = fixture("harvest", f"time_entries_cursor_page_{number}.json")
    params = {"cursor": cursor, "per_page": "2", "ref": "next_cursor"}
    return Exchange("GET", "/v2/time_entries", payload, params=params, headers=EVERY_REQUEST)


def reference_lists(since: dict | None = None) -> list[Exchange]:
    """The reference's example of each list but time entries; with `since`, empty answers to
    a run that asks from each list's newest `updated_at`."""
    if since is None:
        return [listed(name, fixture("harvest", f"{name}.json")) for name in REFERENCE]
    return [listed(name, empty(name), since[name]) for name in REFERENCE]


def settings_for(vendor: ReplayServer, tmp_path):
    endpoint = SourceEndpoint(base_url=vendor.url, access_token=TOKEN, account_id=ACCOUNT)
    return settings_for_vendor("harvest", tmp_path / "data", endpoint)


def by_id(settings, model: str, key: str) -> dict:
    return {row[key]: row for row in rows(settings, f"select * from staging.{model}")}


def column_types(settings, model: str) -> dict[str, str]:
    found = rows(
        settings,
        "select column_name, data_type from information_schema.columns "
        f"where table_name = '{model}'",
    )
    return {row["column_name"]: row["data_type"] for row in found}


@pytest.fixture
def instance():
    with dg.DagsterInstance.ephemeral() as instance:
        yield instance


def test_the_references_examples_stage_typed(tmp_path, instance):
    exchanges = [listed("time_entries", fixture("harvest", "time_entries.json"))]
    with ReplayServer(exchanges + reference_lists()) as harvest:
        settings = settings_for(harvest, tmp_path)
        land("harvest", settings, instance)
    stage("harvest", settings, tmp_path)

    entries = by_id(settings, "stg_harvest__time_entries", "time_entry_id")
    assert set(entries) == {636709355, 636708723, 636708574, 636707831}
    css = entries[636709355]  # "Adding CSS styling", on Marketing Website for ABC Corp
    assert (css["hours"], css["rounded_hours"]) == (Decimal("2.1100"), Decimal("2.2500"))
    assert (css["bill_rate_amount"], css["cost_rate_amount"]) == (
        Decimal("100.00"),
        Decimal("50.00"),
    )
    # the project's code and the client's currency: the entry carries neither
    assert (css["project_code"], css["bill_rate_currency"]) == ("MW", "USD")
    assert (css["harvest_project_id"], css["harvest_client_id"]) == (14307913, 5735774)
    assert css["spent_on"] == date(2017, 3, 2)
    assert css["updated_at"] == datetime(2017, 6, 27, 16, 47, 14)
    assert (css["is_billable"], css["is_approved"], css["is_locked"], css["is_billed"]) == (
        True, True, True, False,
    )  # fmt: skip
    assert css["locked_reason"] == "Item Approved and Locked for this Time Period"
    assert css["harvest_invoice_id"] is None and css["is_running"] is False
    programming = entries[636708723]  # invoiced in Harvest, on Online Store for 123 Industries
    assert (programming["project_code"], programming["bill_rate_currency"]) == ("OS1", "EUR")
    assert (programming["harvest_invoice_id"], programming["is_billed"]) == (13150403, True)
    research = entries[636708574]  # not billable: no rate
    assert research["is_billable"] is False and research["bill_rate_amount"] is None
    assert research["hours"] == Decimal("1.0000")
    types = column_types(settings, "stg_harvest__time_entries")
    assert types["hours"] == "DECIMAL(18,4)" and types["bill_rate_amount"] == "DECIMAL(18,2)"
    assert (types["spent_on"], types["is_billable"], types["time_entry_id"]) == (
        "DATE", "BOOLEAN", "BIGINT",
    )  # fmt: skip
    assert types["updated_at"] == "TIMESTAMP"

    expenses = by_id(settings, "stg_harvest__expenses", "expense_id")
    lunch, hotel = expenses[15296442], expenses[15296423]
    assert (lunch["expense_amount"], lunch["expense_currency"]) == (Decimal("33.35"), "USD")
    assert (hotel["expense_amount"], hotel["expense_currency"]) == (Decimal("100.00"), "EUR")
    assert (lunch["project_code"], hotel["project_code"]) == ("MW", "OS1")
    assert (lunch["units"], lunch["expense_category_name"]) == (Decimal("1.0000"), "Meals")
    assert (lunch["is_billed"], lunch["is_approved"], hotel["is_approved"]) == (True, False, True)
    assert lunch["harvest_invoice_id"] == 13150403 and hotel["spent_on"] == date(2017, 3, 1)
    assert column_types(settings, "stg_harvest__expenses")["expense_amount"] == "DECIMAL(18,2)"

    users = by_id(settings, "stg_harvest__users", "harvest_user_id")
    assert set(users) == {3230547, 1782959, 1782884}
    kim = users[1782959]
    assert (kim["email"], kim["user_name"], kim["timezone"]) == (
        "kimallen@example.com", "Kim Allen", "Eastern Time (US & Canada)",
    )  # fmt: skip
    assert users[1782884]["cost_rate_amount"] == Decimal("75.00")
    assert kim["is_active"] is True and kim["is_contractor"] is False

    clients = by_id(settings, "stg_harvest__clients", "harvest_client_id")
    assert {c: clients[c]["billing_currency"] for c in clients} == {5735776: "EUR", 5735774: "USD"}
    projects = by_id(settings, "stg_harvest__projects", "harvest_project_id")
    website = projects[14307913]
    assert (website["project_code"], website["billing_currency"], website["bill_by"]) == (
        "MW", "USD", "Project",
    )  # fmt: skip
    assert (website["starts_on"], website["ends_on"]) == (date(2017, 1, 1), date(2017, 3, 31))
    assert projects[14308069]["ends_on"] is None and website["fee_amount"] is None
    assert website["is_fixed_fee"] is False and website["harvest_client_id"] == 5735774
    tasks = by_id(settings, "stg_harvest__tasks", "harvest_task_id")
    assert len(tasks) == 5 and tasks[8083800]["is_billable_by_default"] is False


def test_a_cursor_walk_then_a_second_run_asks_only_for_what_changed(tmp_path, instance):
    first_run = [
        listed("time_entries", fixture("harvest", "time_entries_cursor_page_1.json")),
        cursor_page(2, "eyJhZnRlciI6eyJpZCI6MzAwN319"),
        cursor_page(3, "eyJhZnRlciI6eyJpZCI6NDAwN319"),
        *reference_lists(),
    ]
    second_run = [
        listed(
            "time_entries", fixture("harvest", "time_entries_changed.json"), NEWEST["time_entries"]
        ),
        *reference_lists(since=NEWEST),
    ]
    with ReplayServer(first_run) as harvest:
        settings = settings_for(harvest, tmp_path)
        land("harvest", settings, instance)
        walked = harvest.asked("/v2/time_entries")
        harvest.exchanges[:] = second_run
        harvest.clear()
        land("harvest", settings, instance)
        asked = {r.path.removeprefix("/v2/"): r.query for r in harvest.requests}
    stage("harvest", settings, tmp_path)

    # the cursor pages were asked for exactly as links.next gave them, never built
    assert [r.query for r in walked[1:]] == [
        {"cursor": "eyJhZnRlciI6eyJpZCI6MzAwN319", "per_page": "2", "ref": "next_cursor"},
        {"cursor": "eyJhZnRlciI6eyJpZCI6NDAwN319", "per_page": "2", "ref": "next_cursor"},
    ]
    # one request per list the second time, from the newest updated_at of the first
    assert len(harvest.requests) == len(NEWEST)
    assert {name: query["updated_since"] for name, query in asked.items()} == NEWEST

    entries = by_id(settings, "stg_harvest__time_entries", "time_entry_id")
    assert set(entries) == {636718192, 636709355, 636708723, 636708574, 636707831}
    changed = entries[636718192]  # created with no notes, then "Updated notes"
    assert changed["notes"] == "Updated notes"
    assert changed["updated_at"] == datetime(2017, 6, 28, 9, 15)
    assert (changed["project_code"], changed["bill_rate_currency"]) == ("MW", "USD")
    assert changed["hours"] == Decimal("1.0000")
    assert entries[636707831]["project_code"] == "OS1"  # from the last cursor page


def test_an_empty_tenant_lands_every_table_and_stages_nothing(tmp_path, instance):
    names = ("time_entries", *REFERENCE)
    with ReplayServer([listed(name, empty(name)) for name in names]) as harvest:
        settings = settings_for(harvest, tmp_path)
        land("harvest", settings, instance)
    stage("harvest", settings, tmp_path)
    for name in names:
        assert rows(settings, f"select count(*) as n from raw_harvest.{name}") == [{"n": 0}]
    models = {
        "stg_harvest__time_entries": ("project_code", "bill_rate_currency", "hours", "spent_on"),
        "stg_harvest__expenses": ("expense_amount", "expense_currency", "project_code"),
        "stg_harvest__users": ("email", "timezone", "cost_rate_amount"),
        "stg_harvest__clients": ("billing_currency",),
        "stg_harvest__projects": ("project_code", "fee_amount", "billing_currency"),
        "stg_harvest__tasks": ("task_name", "is_billable_by_default"),
    }
    for model, columns in models.items():
        assert rows(settings, f"select count(*) as n from staging.{model}") == [{"n": 0}]
        assert set(columns) <= set(column_types(settings, model)), model
    assert column_types(settings, "stg_harvest__time_entries")["hours"] == "DECIMAL(18,4)"
