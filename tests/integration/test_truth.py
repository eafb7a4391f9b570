"""Every defect the sandbox records as ground truth can be seen in the systems' own APIs.

The pipeline never reads the truth; these tests prove a careful reader of the five APIs could
find each defect, so a pipeline that misses one has a bug, not a sandbox that hides it.
"""

from collections import Counter

import requests

from tests.helpers import AUTH, HARVEST_AUTH, suiteql, truth


def harvest_entries(server) -> dict[int, dict]:
    entries, url, params = {}, f"{server.url}/harvest/v2/time_entries", {"per_page": 2000}
    while url:
        page = requests.get(url, params=params, headers=HARVEST_AUTH, timeout=30).json()
        entries.update({e["id"]: e for e in page["time_entries"]})
        url, params = page["links"]["next"], None
    return entries


def kantata_codes(server) -> set[str]:
    codes, page = set(), 1
    while True:
        body = requests.get(
            f"{server.url}/kantata/api/v1/workspaces.json",
            params={"page": page, "per_page": 200},
            headers=AUTH,
            timeout=10,
        ).json()
        codes |= {w["title"].split(" ", 1)[0] for w in body["workspaces"].values()}
        if page >= body["meta"]["page_count"]:
            return codes
        page += 1


def deals(server) -> dict[str, dict]:
    found, after = {}, "0"
    while after is not None:
        page = requests.post(
            f"{server.url}/hubspot/crm/v3/objects/deals/search",
            json={"limit": 100, "after": after},
            headers=AUTH,
            timeout=10,
        ).json()
        found.update({d["id"]: d["properties"] for d in page["results"]})
        after = page.get("paging", {}).get("next", {}).get("after")
    return found


def test_the_small_firm_has_every_kind_it_promises(sandbox):
    kinds = Counter(d["kind"] for d in truth(sandbox))
    assert set(kinds) == {
        "unbilled_time",
        "time_billed_twice",
        "unmapped_project_code",
        "won_deal_without_project",
    }
    assert all(d["amount"] and d["currency"] for d in truth(sandbox))


def test_every_defect_is_visible_in_the_apis(sandbox):
    entries = harvest_entries(sandbox)
    lines = suiteql(sandbox, "select transaction, custcol_time_entry_id from transactionline")
    billed = Counter(
        int(line["custcol_time_entry_id"]) for line in lines if "custcol_time_entry_id" in line
    )
    invoiced_codes = {
        i["custbody_project_code"]
        for i in suiteql(sandbox, "select custbody_project_code from transaction")
    }
    workspaces = kantata_codes(sandbox)
    crm = deals(sandbox)

    for defect in truth(sandbox):
        record = defect["record_id"]
        if defect["kind"] == "unbilled_time":
            entry = entries[int(record)]
            assert entry["is_closed"] and entry["billable"] and billed[int(record)] == 0
        elif defect["kind"] == "time_billed_twice":
            assert billed[int(record)] == 2
        elif defect["kind"] == "unmapped_project_code":
            code = entries[int(record)]["project"]["code"]
            assert code not in workspaces and code not in invoiced_codes
            assert code not in {d["psa_project_code"] for d in crm.values()}
        elif defect["kind"] == "won_deal_without_project":
            deal = crm[record]
            assert deal["dealstage"] == "closedwon" and deal["psa_project_code"] not in workspaces
            assert deal["amount"] == defect["amount"]
