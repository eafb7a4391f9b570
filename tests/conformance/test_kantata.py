"""Kantata's published payloads (fixtures/kantata, sources in SOURCES.md) through the product's
ingest asset and staging models: the values that land, typed; a second run that asks only for
what changed since the newest stamp, compared as an instant; and a tenant with nothing yet."""

from datetime import date, datetime
from decimal import Decimal

import dagster as dg
import pytest

from psa_pipeline.settings import SourceEndpoint
from psa_pipeline.sources.kantata import COLLECTIONS
from psa_pipeline.sources.probes import check_sources
from tests.conformance.harness import land, rows, settings_for_vendor, stage
from tests.conformance.replay import Exchange, ReplayServer, fixture

API = "/api/v1"
FIRST_RUN = "1969-12-31T23:59:59Z"  # a second before the cursor's start
WHOLE = ("users", "roles", "rate_card_sets", "rate_cards", "rate_card_set_versions")
WHOLE += ("rate_card_versions", "rate_card_roles")


def asked(since: str, page: str = "1") -> dict:
    return {"updated_after": since, "order": "updated_at:asc", "page": page, "per_page": "200"}


def listed_whole(payloads: dict[str, str]) -> list[Exchange]:
    return [
        Exchange("GET", f"{API}/{name}.json", fixture("kantata", payloads.get(name, "empty.json")))
        for name in WHOLE
    ]


def first_run() -> list[Exchange]:
    return [
        Exchange(
            "GET",
            f"{API}/workspaces.json",
            fixture("kantata", "workspaces_include_archived.json"),
            params={**asked(FIRST_RUN), "include_archived": "true"},
        ),
        *(
            Exchange(
                "GET",
                f"{API}/stories.json",
                fixture("kantata", f"stories_page_{page}.json"),
                params={**asked(FIRST_RUN, page), "all_on_account": "true"},
            )
            for page in ("1", "2")
        ),
        Exchange(
            "GET",
            f"{API}/assignments.json",
            fixture("kantata", "assignments.json"),
            params={**asked(FIRST_RUN), "in_unarchived_workspaces": "false"},
        ),
        *listed_whole({name: f"{name}.json" for name in WHOLE}),
    ]


# the newest stamp each first run landed, a second before, in UTC: for assignments the newest
# instant (01:10 -08:00, after the clocks went back) is not the greatest text (01:30 -07:00)
SECOND_RUN = {
    "workspaces": ("2013-07-30T22:02:31Z", "workspaces_changed.json"),
    "stories": ("2013-08-01T17:35:51Z", "empty.json"),
    "assignments": ("2013-11-03T09:09:59Z", "empty.json"),
}


def second_run() -> list[Exchange]:
    return [
        Exchange("GET", f"{API}/{name}.json", fixture("kantata", payload), params=asked(since))
        for name, (since, payload) in SECOND_RUN.items()
    ] + listed_whole({name: f"{name}.json" for name in WHOLE})


def vendor_settings(vendor: ReplayServer, tmp_path):
    endpoint = SourceEndpoint(base_url=vendor.url, access_token="kantata-token")
    return settings_for_vendor("kantata", tmp_path / "data", endpoint)


def by_key(settings, sql: str, key: str) -> dict:
    return {row[key]: row for row in rows(settings, sql)}


@pytest.fixture(scope="module")
def landed(tmp_path_factory):
    """The first run landed and staged, then the second run's requests and what it changed."""
    tmp_path = tmp_path_factory.mktemp("kantata")
    with ReplayServer(first_run() + second_run()) as vendor:
        settings = vendor_settings(vendor, tmp_path)
        with dg.instance_for_test() as instance:
            land("kantata", settings, instance)
            stage("kantata", settings, tmp_path)
            first = {
                model: rows(settings, f"select * from staging.stg_kantata__{model}")
                for model in ("workspaces", "stories", "assignments", "users", "rate_cards")
            }
            first_requests = list(vendor.requests)
            vendor.clear()
            land("kantata", settings, instance)
            stage("kantata", settings, tmp_path)
            yield first, first_requests, list(vendor.requests), settings


def test_every_request_carries_the_token_and_asks_for_the_whole_list(landed):
    _, requests, _, _ = landed
    assert {r.headers["authorization"] for r in requests} == {"Bearer kantata-token"}
    query = {r.path.rsplit("/", 1)[1]: r.query for r in requests}
    assert query["users.json"]["on_my_account"] == "true"
    assert query["stories.json"]["show_from_archived_workspaces"] == "true"
    assert query["rate_card_roles.json"]["order"] == "created_at:asc"
    assert "updated_after" not in query["rate_card_roles.json"]
    # stories: two pages, as meta.page_count says; everything else: one
    assert [r.query["page"] for r in requests if r.path.endswith("/stories.json")] == ["1", "2"]


def test_workspaces_land_typed_archived_ones_too(landed):
    first, *_ = landed
    workspaces = {w["workspace_id"]: w for w in first["workspaces"]}
    assert set(workspaces) == {3325095, 3457635, 3403465, 3216035}
    archived = workspaces[3325095]
    assert archived["is_archived"] is True and archived["workspace_title"] == "9"
    project = workspaces[3457635]
    assert project["created_at"] == datetime(2013, 7, 30, 2, 32, 34)  # 19:32:34 -07:00
    assert project["updated_at"] == datetime(2013, 7, 30, 21, 15, 20)
    assert project["workspace_currency"] == "USD" and project["project_code"] is None
    assert project["project_name"] == "API Test Project" and project["is_archived"] is False
    # a 2013 answer has no status object and no dates: unknown, not invented
    assert project["workspace_status"] is None and project["is_active"] is None
    assert project["starts_on"] is None and project["rate_card_id"] is None


def test_stories_land_from_results_in_the_workspace_s_currency(landed):
    first, *_ = landed
    stories = {s["story_id"]: s for s in first["stories"]}
    # a sub-story side-loaded into the map but not in `results` is not one of the answers
    assert set(stories) == {26593185, 26506955, 26133885, 26133925}
    milestone = stories[26593185]
    assert milestone["is_milestone"] is True and milestone["story_type"] == "milestone"
    assert milestone["budget_amount"] == Decimal("3.00") and milestone["budget_currency"] == "USD"
    assert milestone["due_on"] == date(2013, 8, 23) and milestone["starts_on"] == date(2013, 8, 14)
    assert milestone["workspace_id"] == 3403465 and milestone["is_completed"] is False
    assert milestone["completed_on"] is None and milestone["story_state"] == "not started"
    task = stories[26133885]
    assert task["budget_amount"] == Decimal("500.00") and task["workspace_id"] == 3457635
    assert task["updated_at"] == datetime(2013, 8, 1, 17, 35, 52)


def test_assignments_take_their_workspace_from_the_story(landed):
    first, *_ = landed
    assignments = {a["assignment_id"]: a for a in first["assignments"]}
    assert (
        assignments[7001]["workspace_id"] == 3403465 and assignments[7001]["psa_user_id"] == 3711195
    )
    assert assignments[7002]["workspace_id"] == 3457635 and assignments[7002]["is_current"] is False
    # both stamped in the hour the clocks went back: 01:30 -07:00 is before 01:10 -08:00
    assert assignments[7001]["updated_at"] == datetime(2013, 11, 3, 8, 30)
    assert assignments[7002]["updated_at"] == datetime(2013, 11, 3, 9, 10)


def test_users_land_without_stamps(landed):
    first, *_ = landed
    users = {u["psa_user_id"]: u for u in first["users"]}
    assert set(users) == {3847595, 3847585}  # `count` says 3: the answer holds 2
    assert users[3847595]["email"] == "mavenlinkapitest@example.com"
    assert users[3847595]["is_disabled"] is False and users[3847595]["headline"] is None
    assert users[3847595]["updated_at"] is None and users[3847595]["created_at"] is None


def test_rates_come_from_the_published_set_versions_of_the_workspace_s_card(landed):
    first, *_ = landed
    rates = {(r["workspace_id"], r["role_key"], r["effective_on"]): r for r in first["rate_cards"]}
    assert len(rates) == 4 * 3 * 2  # every workspace on the default card, 3 roles, 2 published
    developer = rates[(3457635, "developer", date(2013, 1, 1))]
    assert developer["bill_rate_amount"] == Decimal("20.00")
    assert developer["bill_rate_currency"] == "USD" and developer["rate_card_id"] == 2
    assert developer["superseded_on"] == date(2013, 9, 1) and developer["rate_card_role_id"] == 30
    assert developer["rate_card_title"] == "Account Default"
    later = rates[(3457635, "developer", date(2013, 9, 1))]
    assert later["bill_rate_amount"] == Decimal("22.00") and later["superseded_on"] is None
    # a role the version does not price is billed at the version's default rate
    designer = rates[(3457635, "designer", date(2013, 9, 1))]
    assert (
        designer["bill_rate_amount"] == Decimal("16.00") and designer["rate_card_role_id"] is None
    )
    assert not any(r["effective_on"] == date(2014, 1, 1) for r in rates.values())  # a draft


def test_a_second_run_asks_from_the_newest_instant_and_lands_the_change(landed):
    _, _, second, settings = landed
    for name, (since, _) in SECOND_RUN.items():
        (request,) = [r for r in second if r.path == f"{API}/{name}.json"]
        assert request.query["updated_after"] == since, name
    project = by_key(settings, "select * from staging.stg_kantata__workspaces", "workspace_id")[
        3457635
    ]
    assert project["workspace_status"] == "Active" and project["is_active"] is True
    assert project["updated_at"] == datetime(2013, 12, 2, 18, 0)  # 10:00 -08:00
    assert project["rate_card_id"] == 2 and project["starts_on"] == date(2013, 7, 29)
    counts = rows(settings, "select count(*) as n from staging.stg_kantata__workspaces")
    assert counts == [{"n": 4}]


def test_a_tenant_with_nothing_yet_lands_every_table_and_stages(tmp_path):
    empty = [
        Exchange(
            "GET",
            f"{API}/{c.name}.json",
            fixture("kantata", "empty_workspaces.json" if c.name == "workspaces" else "empty.json"),
        )
        for c in COLLECTIONS
    ]
    with ReplayServer(empty) as vendor:
        settings = vendor_settings(vendor, tmp_path)
        with dg.instance_for_test() as instance:
            land("kantata", settings, instance)
        stage("kantata", settings, tmp_path)
        assert len(vendor.requests) == len(COLLECTIONS)  # one page each, no more
    for collection in COLLECTIONS:
        columns = {
            r["column_name"] for r in rows(settings, f"describe raw_kantata.{collection.name}")
        }
        assert set(collection.columns) <= columns, collection.name
    for model in ("workspaces", "stories", "assignments", "users", "rate_cards"):
        assert rows(settings, f"select count(*) as n from staging.stg_kantata__{model}") == [
            {"n": 0}
        ]


def test_check_sources_quotes_kantata_s_refusal(tmp_path):
    refusal = Exchange(
        "GET", f"{API}/users/me.json", fixture("kantata", "error_401.json"), status=401
    )
    with ReplayServer([refusal]) as vendor:
        settings = vendor_settings(vendor, tmp_path)
        (finding,) = check_sources(settings, ("kantata",), attempts=1)
    assert not finding.ok and "Invalid OAuth 2 Request" in finding.message
    assert finding.message.startswith("credential refused (401")
