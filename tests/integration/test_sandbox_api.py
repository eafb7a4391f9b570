"""The sandbox speaks each vendor's dialect over real HTTP."""

import pytest
import requests

from psa_pipeline.sandbox.plan import FirmConfig
from psa_pipeline.sandbox.server import SandboxServer, open_firm
from tests.helpers import (
    AUTH,
    HARVEST_AUTH,
    SMALL_FIRM,
    invoice_body,
    start_sandbox,
    suiteql,
    truth,
)


def all_deals(server) -> list[dict]:
    deals, after = [], "0"
    while after is not None:
        page = requests.post(
            f"{server.url}/hubspot/crm/v3/objects/deals/search",
            json={"limit": 5, "after": after, "sorts": [{"propertyName": "hs_lastmodifieddate"}]},
            headers=AUTH,
            timeout=10,
        ).json()
        deals += page["results"]
        after = page.get("paging", {}).get("next", {}).get("after")
    return deals


def all_time_entries(server, **params) -> list[dict]:
    url, entries = f"{server.url}/harvest/v2/time_entries", []
    params = {"per_page": 500, **params}
    while url:
        page = requests.get(url, params=params, headers=HARVEST_AUTH, timeout=10).json()
        entries += page["time_entries"]
        url, params = page["links"]["next"], None
    return entries


def store_count(server, table: str) -> int:
    with server.store.connect() as conn:
        return conn.execute(f"select count(*) from {table}").fetchone()[0]


def test_every_endpoint_pages_through_every_record_exactly_once(sandbox):
    deals = all_deals(sandbox)
    assert len(deals) == len({d["id"] for d in deals}) == store_count(sandbox, "hubspot_deals")
    entries = all_time_entries(sandbox)
    assert (
        len(entries)
        == len({e["id"] for e in entries})
        == store_count(sandbox, "harvest_time_entries")
    )
    lines = suiteql(sandbox, "select uniquekey from transactionline where mainline = 'F'")
    assert (
        len(lines)
        == len({r["uniquekey"] for r in lines})
        == store_count(sandbox, "netsuite_transactionline")
    )
    assert len(lines) > 1000  # more than one SuiteQL page


def test_incremental_filters_return_only_changed_records(sandbox):
    since = "2026-06-22T00:00:00Z"
    changed = all_time_entries(sandbox, updated_since=since)
    assert changed and all(e["updated_at"] >= since for e in changed)
    with sandbox.store.connect() as conn:
        expected = conn.execute(
            "select count(*) from harvest_time_entries where updated_at >= ?", (since,)
        ).fetchone()[0]
    assert len(changed) == expected
    invoices = suiteql(
        sandbox,
        "select id from transaction where lastmodifieddate >= TO_DATE('2026-06-01', 'YYYY-MM-DD')",
    )
    assert 0 < len(invoices) < store_count(sandbox, "netsuite_transaction")


@pytest.mark.parametrize(
    ("method", "path", "body", "wrong_status"),
    [
        # HubSpot answers an unknown private app token 401 as well (INVALID_AUTHENTICATION)
        ("post", "/hubspot/crm/v3/objects/deals/search", {}, 401),
        # NetSuite answers a credential that does not log in with 401 INVALID_LOGIN
        ("post", "/netsuite/services/rest/query/v1/suiteql", {"q": "select id from job"}, 401),
        ("put", "/netsuite/services/rest/record/v1/invoice/eid:X1", invoice_body(), 401),
    ],
)
def test_401_without_and_a_refusal_with_a_wrong_credential(
    sandbox, method, path, body, wrong_status
):
    call = getattr(requests, method)
    extra = {"Harvest-Account-Id": "100001", "Prefer": "transient"}
    assert call(sandbox.url + path, json=body, headers=extra, timeout=10).status_code == 401
    wrong = extra | {"Authorization": "Bearer not-the-token"}
    assert (
        call(sandbox.url + path, json=body, headers=wrong, timeout=10).status_code == wrong_status
    )


def test_bad_suiteql_is_a_400_with_the_reason(sandbox):
    response = requests.post(
        f"{sandbox.url}/netsuite/services/rest/query/v1/suiteql",
        json={"q": "select secret from transaction"},
        headers=AUTH | {"Prefer": "transient"},
        timeout=10,
    )
    assert response.status_code == 400
    assert "Field 'secret' was not found" in response.json()["o:errorDetails"][0]["detail"]


def snapshot(server) -> tuple:
    try:
        return all_deals(server), all_time_entries(server), truth(server)
    finally:
        server.stop()


def test_same_seed_gives_identical_responses(tmp_path):
    first = snapshot(SandboxServer(open_firm(SMALL_FIRM, tmp_path / "a")).start())
    assert snapshot(SandboxServer(open_firm(SMALL_FIRM, tmp_path / "b")).start()) == first
    other = snapshot(start_sandbox(tmp_path / "c", FirmConfig(seed=8, size="small")))
    assert other[0] != first[0] and other[1] != first[1]


def test_upsert_by_external_id_is_idempotent_and_persists(sandbox, tmp_path):
    url = f"{sandbox.url}/netsuite/services/rest/record/v1/invoice/eid:PSA-TEST-1"
    before = store_count(sandbox, "netsuite_transaction")
    for _ in range(3):
        assert requests.put(url, json=invoice_body(), headers=AUTH, timeout=10).status_code == 204
    assert store_count(sandbox, "netsuite_transaction") == before + 1
    stored = requests.get(url, headers=AUTH, timeout=10).json()
    assert stored["externalId"] == "PSA-TEST-1" and stored["total"] == "750.00"
    assert [line["custcol_time_entry_id"] for line in stored["item"]["items"]] == [1]
    drafts = suiteql(
        sandbox, "select id, foreigntotal from transaction where externalid = 'PSA-TEST-1'"
    )
    assert drafts == [{"links": [], "id": stored["id"], "foreigntotal": "750.00"}]

    changed = invoice_body(amount="900.00", quantity="6")
    assert requests.put(url, json=changed, headers=AUTH, timeout=10).status_code == 204
    replaced = requests.get(url, headers=AUTH, timeout=10).json()
    assert store_count(sandbox, "netsuite_transaction") == before + 1
    assert (replaced["id"], replaced["total"]) == (stored["id"], "900.00")
    assert [line["quantity"] for line in replaced["item"]["items"]] == ["6"]
    stored = replaced

    sandbox.stop()  # a restart keeps what was written
    restarted = start_sandbox(tmp_path / "sandbox")
    try:
        assert (
            requests.get(url.replace(sandbox.url, restarted.url), headers=AUTH, timeout=10).json()
            == stored
        )
    finally:
        restarted.stop()


def test_an_invoice_whose_lines_do_not_add_up_is_refused(sandbox):
    url = f"{sandbox.url}/netsuite/services/rest/record/v1/invoice/eid:PSA-TEST-2"
    response = requests.put(url, json=invoice_body(amount="700.00"), headers=AUTH, timeout=10)
    assert response.status_code == 400
    assert "not quantity x rate" in response.json()["o:errorDetails"][0]["detail"]
    assert requests.get(url, headers=AUTH, timeout=10).status_code == 404


def test_updated_since_honours_its_utc_offset(sandbox):
    utc = all_time_entries(sandbox, updated_since="2026-06-22T00:00:00Z")
    same_moment = all_time_entries(sandbox, updated_since="2026-06-22T02:00:00+02:00")
    naive_is_utc = all_time_entries(sandbox, updated_since="2026-06-22T00:00:00")
    later = all_time_entries(
        sandbox, updated_since="2026-06-22T00:00:00-10:00"
    )  # 10:00Z: after the 09:00 approvals
    assert utc == same_moment == naive_is_utc and len(later) < len(utc)
