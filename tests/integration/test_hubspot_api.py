"""The sandbox's CRM in HubSpot's dialect: four object types, paged, searched and associated."""

import pytest
import requests

from tests.helpers import AUTH

OBJECTS = "/hubspot/crm/v3/objects"
PAGE = 7  # small, so every type takes several pages
SEARCH_PAGE = 3  # smaller still: a search returns only part of a type
# object type -> its store table, and the store columns served as associations, not properties
TABLES = {
    "companies": ("hubspot_companies", ()),
    "deals": ("hubspot_deals", ("company_id",)),
    "line_items": ("hubspot_line_items", ("deal_id",)),
    "p_contracts": ("hubspot_contracts", ("deal_id",)),
}
# (from, to) -> association type, and the store pairs (from id, to id) it must list
ASSOCIATIONS = {
    ("deals", "companies"): ("deal_to_company", "select id, company_id from hubspot_deals"),
    ("deals", "line_items"): ("deal_to_line_item", "select deal_id, id from hubspot_line_items"),
    ("deals", "p_contracts"): ("deal_to_p_contract", "select deal_id, id from hubspot_contracts"),
    ("companies", "deals"): ("company_to_deal", "select company_id, id from hubspot_deals"),
    ("line_items", "deals"): ("line_item_to_deal", "select id, deal_id from hubspot_line_items"),
    ("p_contracts", "deals"): ("p_contract_to_deal", "select id, deal_id from hubspot_contracts"),
}


def rows(server, sql, *args) -> list[dict]:
    with server.store.connect() as conn:
        return [dict(row) for row in conn.execute(sql, args).fetchall()]


def listed(server, object_type: str, **params) -> tuple[list[dict], int]:
    """Every record a GET list returns following `paging.next.link`, and how many pages."""
    url, params, records, pages = f"{server.url}{OBJECTS}/{object_type}", params, [], 0
    while url:
        response = requests.get(url, params=params, headers=AUTH, timeout=10)
        assert response.status_code == 200, response.text
        body = response.json()
        records += body["results"]
        pages += 1
        url, params = body.get("paging", {}).get("next", {}).get("link"), None
    return records, pages


def searched(server, object_type: str, search: dict) -> list[dict]:
    """Every record a search returns, handing `paging.next.after` back in the body."""
    records, after = [], "0"
    while after is not None:
        response = requests.post(
            f"{server.url}{OBJECTS}/{object_type}/search",
            json=search | {"limit": SEARCH_PAGE, "after": after},
            headers=AUTH,
            timeout=10,
        )
        assert response.status_code == 200, response.text
        body = response.json()
        records += body["results"]
        after = body.get("paging", {}).get("next", {}).get("after")
    return records


def as_sent(row: dict, hidden: tuple[str, ...]) -> dict:
    """A store row as HubSpot would send its properties: strings, null kept, no id columns."""
    properties = {
        name: None if value is None else str(value)
        for name, value in row.items()
        if name != "id" and name not in hidden
    }
    return properties | {"hs_object_id": str(row["id"])}


@pytest.mark.parametrize("object_type", sorted(TABLES))
def test_paging_returns_every_record_exactly_once_as_stored(sandbox, object_type):
    table, hidden = TABLES[object_type]
    records, pages = listed(sandbox, object_type, limit=PAGE)
    stored = rows(sandbox, f"select * from {table} order by id")
    assert len(stored) > PAGE and pages == -(-len(stored) // PAGE)
    assert [r["id"] for r in records] == [str(row["id"]) for row in stored]  # by id, once each
    for record, row in zip(records, stored, strict=True):
        assert record["properties"] == as_sent(row, hidden)
        assert (record["createdAt"], record["updatedAt"], record["archived"]) == (
            row["createdate"],
            row["hs_lastmodifieddate"],
            False,
        )
        assert "associations" not in record  # only when asked for
    last = requests.get(
        f"{sandbox.url}{OBJECTS}/{object_type}",
        params={"limit": PAGE, "after": len(stored) - PAGE},  # ends exactly on the last record
        headers=AUTH,
        timeout=10,
    ).json()
    assert len(last["results"]) == PAGE and "paging" not in last


@pytest.mark.parametrize("object_type", sorted(TABLES))
def test_search_from_a_modified_date_returns_exactly_the_changes(sandbox, object_type):
    table = TABLES[object_type][0]
    dates = [r["d"] for r in rows(sandbox, f"select hs_lastmodifieddate d from {table} order by d")]
    since = dates[len(dates) // 2]
    found = searched(
        sandbox,
        object_type,
        {
            "filterGroups": [
                {
                    "filters": [
                        {"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": since}
                    ]
                }
            ],
            "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
        },
    )
    expected = rows(sandbox, f"select id from {table} where hs_lastmodifieddate >= ?", since)
    assert len(found) == len({r["id"] for r in found}) == len(expected)
    assert {r["id"] for r in found} == {str(r["id"]) for r in expected}
    assert SEARCH_PAGE < len(found) < len(dates)  # several pages, not everything
    updated = [r["updatedAt"] for r in found]
    assert updated == sorted(updated) and updated[0] >= since


@pytest.mark.parametrize("object_type", sorted({pair[0] for pair in ASSOCIATIONS}))
def test_associations_match_the_store_in_both_directions(sandbox, object_type):
    wanted = {to: ASSOCIATIONS[(frm, to)] for frm, to in ASSOCIATIONS if frm == object_type}
    records, _ = listed(sandbox, object_type, limit=100, associations=",".join(wanted))
    for to, (association_type, sql) in wanted.items():
        expected: dict[str, list[str]] = {}
        for source, target in (tuple(row.values()) for row in rows(sandbox, sql)):
            expected.setdefault(str(source), []).append(str(target))
        assert expected  # the small firm has some of every association
        served = {
            r["id"]: r["associations"][to]["results"]
            for r in records
            if to in r.get("associations", {})
        }
        assert {key: sorted(ids, key=int) for key, ids in expected.items()} == {
            key: [a["id"] for a in results] for key, results in served.items()
        }
        assert {a["type"] for results in served.values() for a in results} == {association_type}


def test_properties_chooses_the_fields_and_associations_are_not_properties(sandbox):
    contracts, _ = listed(
        sandbox, "p_contracts", limit=100, properties="version_number,contract_status,nonesuch"
    )
    assert contracts
    assert all(
        set(c["properties"]) == {"version_number", "contract_status", "hs_object_id"}
        for c in contracts
    )
    assert all(c["properties"]["version_number"].isdigit() for c in contracts)
    deals, _ = listed(sandbox, "deals", limit=100, properties="company_id,dealname")
    assert deals and all(set(d["properties"]) == {"dealname", "hs_object_id"} for d in deals)


def test_an_unknown_association_is_a_400_that_names_it(sandbox):
    for object_type, associations in [
        ("companies", "line_items"),
        ("deals", "contacts"),
        ("line_items", "deals,p_contracts"),
    ]:
        response = requests.get(
            f"{sandbox.url}{OBJECTS}/{object_type}",
            params={"associations": associations},
            headers=AUTH,
            timeout=10,
        )
        assert response.status_code == 400, (object_type, associations)
        assert associations.split(",")[-1] in response.json()["detail"]


def test_archived_lists_nothing_and_an_unknown_type_is_refused(sandbox):
    url = f"{sandbox.url}{OBJECTS}/deals"
    archived = requests.get(url, params={"archived": "true"}, headers=AUTH, timeout=10).json()
    live = requests.get(url, params={"archived": "false"}, headers=AUTH, timeout=10).json()
    assert archived == {"total": 0, "results": []}
    assert live["total"] > 0 and live["results"]
    unknown = requests.get(f"{sandbox.url}{OBJECTS}/contacts", headers=AUTH, timeout=10)
    assert 400 <= unknown.status_code < 500


def test_401_without_and_403_with_a_wrong_token(sandbox):
    wrong = {"Authorization": "Bearer nope"}
    for object_type in TABLES:
        for method, path, body in [
            ("get", f"{OBJECTS}/{object_type}", None),
            ("post", f"{OBJECTS}/{object_type}/search", {}),
        ]:
            call = getattr(requests, method)
            assert call(sandbox.url + path, json=body, timeout=10).status_code == 401, path
            wrong_token = call(sandbox.url + path, json=body, headers=wrong, timeout=10)
            assert wrong_token.status_code == 403, path
