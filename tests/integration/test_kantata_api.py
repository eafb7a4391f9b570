"""The sandbox's PSA in Kantata's dialect, and its agreement with the rest of the firm."""

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import pytest
import requests

from psa_pipeline.ingest.assets import ingest_assets
from psa_pipeline.sandbox.kantata import COLLECTIONS, DEFAULT_TIME_ZONE
from psa_pipeline.sandbox.server import free_port, wait_until_healthy
from psa_pipeline.sources.kantata import COLLECTIONS as READ
from psa_pipeline.sources.kantata import a_second_before
from tests.helpers import AUTH, kantata_records, settings_for
from tests.integration.test_ingest import materialize

API = "/kantata/api/v1"
# a zone with daylight saving time in each hemisphere, and one half an hour off the hour
ZONES = ("America/Los_Angeles", "Pacific/Auckland", "Asia/Kolkata")


def rows(server, sql, *args):
    with server.store.connect() as conn:
        return [tuple(row) for row in conn.execute(sql, args).fetchall()]


def get(server, collection: str, token=AUTH, **params) -> requests.Response:
    return requests.get(f"{server.url}{API}/{collection}", params=params, headers=token, timeout=30)


def in_zone(server, zone: str) -> None:
    answer = requests.post(
        f"{server.url}/_sandbox/kantata/account", json={"time_zone": zone}, timeout=10
    )
    assert answer.json() == {"time_zone": zone}


def as_utc(stamp: str) -> str:
    return datetime.fromisoformat(stamp).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize("collection", sorted(COLLECTIONS))
def test_paging_returns_every_record_exactly_once(sandbox, collection):
    records = kantata_records(sandbox, collection, per_page=50)
    stored = rows(sandbox, f"select count(*) from {COLLECTIONS[collection].table}")[0][0]
    assert len(records) == len({r["id"] for r in records}) == stored > 0
    assert all(type(r["id"]) is str for r in records)


@pytest.mark.parametrize("zone", ZONES)
def test_stamps_carry_the_account_offset_and_move_with_daylight_saving(sandbox, zone):
    assert requests.get(f"{sandbox.url}/_sandbox/kantata/account", timeout=10).json() == {
        "time_zone": DEFAULT_TIME_ZONE
    }
    in_zone(sandbox, zone)
    stored = dict(rows(sandbox, "select id, created_at from kantata_stories"))
    stories = kantata_records(sandbox, "stories")
    offsets = {s["created_at"][19:] for s in stories}
    assert "Z" not in offsets and all(o[0] in "+-" for o in offsets)
    # the same instants as the firm's, whatever the zone shows them in
    assert {int(s["id"]): as_utc(s["created_at"]) for s in stories} == stored
    if zone != "Asia/Kolkata":  # winter and summer time over the firm's year
        assert len(offsets) == 2
    else:
        assert offsets == {"+05:30"}


@pytest.mark.parametrize("zone", ZONES)
def test_updated_after_is_strict_and_compares_instants(sandbox, zone):
    in_zone(sandbox, zone)
    cut = rows(sandbox, "select updated_at from kantata_stories order by updated_at")[100][0]
    expected = rows(sandbox, "select count(*) from kantata_stories where updated_at > ?", cut)[0][0]
    instant = datetime.fromisoformat(cut)
    elsewhere = instant.astimezone(ZoneInfo("Pacific/Chatham")).isoformat()  # +12:45 / +13:45
    local = instant.astimezone(ZoneInfo(zone)).replace(tzinfo=None).isoformat()  # the account's
    for asked in (cut, elsewhere, local):
        changed = kantata_records(sandbox, "stories", updated_after=asked)
        assert len(changed) == expected > 0, asked
        assert all(as_utc(s["updated_at"]) > cut for s in changed)


def test_an_empty_answer_has_no_results_an_empty_map_and_no_pages(sandbox):
    body = get(
        sandbox, "workspaces.json", include_archived="true", updated_after="2099-01-01"
    ).json()
    assert body == {
        "count": 0,
        "results": [],
        "workspaces": {},
        "meta": {"count": 0, "page_count": 0, "page_number": 1, "page_size": 20},
    }


def test_shapes_are_kantata_s(sandbox):
    workspace = kantata_records(sandbox, "workspaces")[0]
    assert set(workspace["status"]) == {"color", "key", "message"}
    assert type(workspace["status"]["key"]) is int and type(workspace["rate_card_id"]) is str
    assert len(workspace["start_date"]) == 10 and type(workspace["archived"]) is bool
    assignment = kantata_records(sandbox, "assignments")[0]
    assert "workspace_id" not in assignment and type(assignment["story_id"]) is str
    user = kantata_records(sandbox, "users")[0]
    assert not {"created_at", "updated_at"} & set(user) and type(user["disabled"]) is bool
    role = kantata_records(sandbox, "rate_card_roles")[0]
    assert type(role["rate"]) is int and type(role["role_id"]) is str


def test_lists_leave_out_what_kantata_leaves_out_unless_asked(sandbox):
    archived = rows(sandbox, "select count(*) from kantata_workspaces where archived = 1")[0][0]
    everything = len(kantata_records(sandbox, "workspaces"))
    assert archived and get(sandbox, "workspaces.json").json()["count"] == everything - archived
    assert get(sandbox, "workspaces.json", archived="only").json()["count"] == archived
    assert get(sandbox, "stories.json").json()["count"] == 0  # the token's user is on no project
    on_account = get(sandbox, "stories.json", all_on_account="true").json()["count"]
    assert 0 < on_account < len(kantata_records(sandbox, "stories"))  # archived projects' too
    assigned = get(sandbox, "assignments.json").json()["count"]
    assert 0 < assigned < len(kantata_records(sandbox, "assignments"))
    assert get(sandbox, "users.json").json()["count"] <= len(kantata_records(sandbox, "users"))


def test_errors_are_kantata_s(sandbox):
    def error(answer: requests.Response) -> tuple[int, str]:
        (only,) = answer.json()["errors"]
        assert set(only) == {"type", "message"}
        return answer.status_code, only["type"]

    assert error(get(sandbox, "workspaces.json", token={})) == (401, "oauth")
    assert error(get(sandbox, "workspaces.json", token={"Authorization": "Bearer no"}))[0] == 403
    assert error(get(sandbox, "time_machines.json")) == (404, "system")
    assert error(get(sandbox, "workspaces.json", order="title:asc")) == (400, "system")
    assert error(get(sandbox, "rate_card_roles.json", order="updated_at:asc"))[0] == 400
    assert error(get(sandbox, "users.json", per_page=201))[0] == 400


def test_a_token_without_administrator_sees_no_project_and_no_rates(sandbox):
    denied = {"kantata": ["administrator"]}
    assert requests.post(f"{sandbox.url}/_sandbox/permissions", json=denied, timeout=10).ok
    assert get(sandbox, "workspaces.json", include_archived="true").json()["count"] == 0
    for collection in ("rate_card_roles", "rate_card_versions", "rate_card_set_versions"):
        answer = get(sandbox, f"{collection}.json")
        assert answer.status_code == 403 and answer.json()["errors"][0]["message"]
    assert get(sandbox, "rate_cards.json").status_code == 200
    me = get(sandbox, "users/me.json", include="account_membership").json()
    assert [m["permission"] for m in me["account_memberships"].values()] == ["project_lead"]


def defect_codes(server) -> set[str]:
    """Project codes the PSA cannot know: Harvest-only codes, and won deals never set up."""
    unmapped = rows(
        server,
        "select distinct e.project_code from harvest_time_entries e join sandbox_truth t "
        "on t.record_id = cast(e.id as text) and t.kind = 'unmapped_project_code'",
    )
    never_set_up = rows(
        server,
        "select d.psa_project_code from hubspot_deals d join sandbox_truth t "
        "on t.record_id = cast(d.id as text) and t.kind = 'won_deal_without_project'",
    )
    return {r[0] for r in unmapped + never_set_up}


def test_the_psa_knows_every_project_harvest_time_is_booked_to(sandbox):
    titles = [w["title"] for w in kantata_records(sandbox, "workspaces")]
    codes = {t.split(" ", 1)[0] for t in titles}
    booked = {r[0] for r in rows(sandbox, "select distinct project_code from harvest_time_entries")}
    missing = defect_codes(sandbox)
    assert missing and booked - missing <= codes and not (missing & codes)


def test_people_assigned_are_psa_users_and_log_time_on_the_project(sandbox):
    users = {u["id"]: u for u in kantata_records(sandbox, "users")}
    assignments = kantata_records(sandbox, "assignments")
    assert assignments and all(a["assignee_id"] in users for a in assignments)
    # nobody is assigned before they join: the user exists when the workspace is staffed
    joined = {
        str(i): stamp for i, stamp in rows(sandbox, "select id, created_at from kantata_users")
    }
    assert all(joined[a["assignee_id"]] <= as_utc(a["created_at"]) for a in assignments)
    # the PSA user is the HR employee with the same e-mail, who books time to that workspace
    hr = dict(rows(sandbox, "select work_email, id from bamboohr_employees"))
    workspace_code = {
        w["id"]: w["title"].split(" ", 1)[0] for w in kantata_records(sandbox, "workspaces")
    }
    story_workspace = {s["id"]: s["workspace_id"] for s in kantata_records(sandbox, "stories")}
    logged = set(
        rows(
            sandbox,
            "select distinct hr.id, e.project_code from harvest_time_entries e "
            "join harvest_users u on u.id = e.user_id join bamboohr_employees hr on hr.work_email = u.email",
        )
    )
    assert logged
    pairs = {
        (
            hr[users[a["assignee_id"]]["email_address"]],
            workspace_code[story_workspace[a["story_id"]]],
        )
        for a in assignments
    }
    missing = defect_codes(sandbox)
    assert {(user, code) for user, code in logged if code not in missing} <= pairs


def test_milestones_are_completed_on_their_due_date(sandbox):
    as_of = requests.get(f"{sandbox.url}/_sandbox/health", timeout=10).json()["as_of"]
    milestones = [s for s in kantata_records(sandbox, "stories") if s["story_type"] == "milestone"]
    assert milestones
    for story in milestones:
        assert (story["state"] == "completed") == (story["due_date"] <= as_of)


def test_the_account_time_zone_must_be_a_named_zone(sandbox):
    url = f"{sandbox.url}/_sandbox/kantata/account"
    assert requests.post(url, json={"time_zone": "PST"}, timeout=10).status_code == 400
    assert requests.post(url, json={"time_zone": "Mars/Olympus"}, timeout=10).status_code == 400


def test_an_account_across_the_date_line_lands_every_instant_and_asks_from_the_newest(
    sandbox, tmp_path
):
    """Ingest from an account in Auckland (+12 / +13): the stamps land as the firm's UTC
    instants, and a run after a month of changes asks each collection from a second before
    the newest instant it had."""
    in_zone(sandbox, "Pacific/Auckland")
    settings = settings_for(sandbox, tmp_path / "data")
    kantata = [a for a in ingest_assets if a.op.name == "ingest_kantata"]
    incremental = [c.name for c in READ if c.incremental]
    with dg.instance_for_test() as instance:
        materialize(sandbox, settings, instance, kantata)
        newest = {
            c: rows(sandbox, f"select max(updated_at) from kantata_{c}")[0][0] for c in incremental
        }
        assert requests.post(f"{sandbox.url}/_sandbox/advance?days=40", timeout=120).ok
        rerun = materialize(sandbox, settings, instance, kantata)
    for collection in incremental:
        (first, *_) = [e["query"] for e in rerun if e["path"] == f"{API}/{collection}.json"]
        assert f"updated_after={quote(a_second_before(newest[collection]), safe='')}" in first
        stored = dict(
            rows(sandbox, f"select cast(id as text), updated_at from kantata_{collection}")
        )
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
            landed = conn.execute(f"select id, updated_at from raw_kantata.{collection}").fetchall()
        assert {i: at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") for i, at in landed} == stored


def serve(tmp_path, port: int, zone: str, **run) -> subprocess.Popen | subprocess.CompletedProcess:
    command = [str(Path(sys.executable).with_name("psa-pipeline")), "sandbox", "serve"]
    command += ["--port", str(port), "--kantata-time-zone", zone]
    env = {**os.environ, "PSA_DATA_DIR": str(tmp_path)}
    if run:
        return subprocess.run(command, env=env, **run)
    return subprocess.Popen(command, env=env)


def test_sandbox_serve_takes_the_account_time_zone(tmp_path):
    port = free_port()
    server = serve(tmp_path, port, "Asia/Kolkata")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, timeout=60)
        assert requests.get(f"{url}/_sandbox/kantata/account", timeout=10).json() == {
            "time_zone": "Asia/Kolkata"
        }
        body = requests.get(f"{url}{API}/roles.json", headers=AUTH, timeout=10).json()
        assert body["count"] == 5
        stories = requests.get(
            f"{url}{API}/stories.json", params={"all_on_account": "true"}, headers=AUTH, timeout=10
        ).json()["stories"]
        assert stories and all(s["updated_at"].endswith("+05:30") for s in stories.values())
    finally:
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=30) == 0


def test_sandbox_serve_refuses_a_zone_that_is_not_one(tmp_path):
    result = serve(tmp_path, free_port(), "PST", capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "unknown time zone 'PST'" in result.stderr
