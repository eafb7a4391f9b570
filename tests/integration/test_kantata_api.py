"""The sandbox's PSA in Kantata's dialect, and its agreement with the rest of the firm."""

import pytest
import requests

from psa_pipeline.sandbox.kantata import COLLECTIONS
from tests.helpers import kantata_records


def rows(server, sql, *args):
    with server.store.connect() as conn:
        return [tuple(row) for row in conn.execute(sql, args).fetchall()]


@pytest.mark.parametrize("collection", sorted(COLLECTIONS))
def test_paging_returns_every_record_exactly_once(sandbox, collection):
    records = kantata_records(sandbox, collection, order="updated_at:asc", per_page=50)
    stored = rows(sandbox, f"select count(*) from {COLLECTIONS[collection]}")[0][0]
    assert len(records) == len({r["id"] for r in records}) == stored > 0


def test_updated_after_returns_exactly_the_changes(sandbox):
    after = "2026-06-01T00:00:00Z"
    changed = kantata_records(sandbox, "stories", updated_after=after)
    expected = rows(sandbox, "select count(*) from kantata_stories where updated_at > ?", after)[0][
        0
    ]
    assert len(changed) == expected and all(s["updated_at"] > after for s in changed)


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
    assert all(users[a["assignee_id"]]["created_at"] <= a["created_at"] for a in assignments)
    # the PSA user is the HR employee with the same e-mail, who books time to that workspace
    hr = dict(rows(sandbox, "select work_email, id from bamboohr_employees"))
    workspace_code = {
        w["id"]: w["title"].split(" ", 1)[0] for w in kantata_records(sandbox, "workspaces")
    }
    logged = set(
        rows(
            sandbox,
            "select distinct hr.id, e.project_code from harvest_time_entries e "
            "join harvest_users u on u.id = e.user_id join bamboohr_employees hr on hr.work_email = u.email",
        )
    )
    assert logged
    pairs = {
        (hr[users[a["assignee_id"]]["email_address"]], workspace_code[a["workspace_id"]])
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


@pytest.mark.parametrize("collection", sorted(COLLECTIONS))
def test_401_without_and_403_with_a_wrong_token(sandbox, collection):
    url = f"{sandbox.url}/kantata/api/v1/{collection}.json"
    assert requests.get(url, timeout=10).status_code == 401
    assert (
        requests.get(url, headers={"Authorization": "Bearer nope"}, timeout=10).status_code == 403
    )
