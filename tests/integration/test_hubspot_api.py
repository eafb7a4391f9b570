"""The sandbox's CRM in HubSpot's dialect: four object types, paged, searched and associated,
and the connector walking a search backlog longer than a search returns."""

import json

import dlt
import duckdb
import pytest
import requests

from psa_pipeline.sandbox.hubspot import CONTRACTS_TYPE_ID, PORTAL_ID, epoch_ms
from psa_pipeline.settings import SANDBOX_TOKEN
from psa_pipeline.sources.hubspot import SearchWindowStuck, hubspot_source
from psa_pipeline.sources.landing import IngestStats
from tests.helpers import AUTH

OBJECTS = "/hubspot/crm/v3/objects"
PAGE = 7  # small, so every type takes several pages
SEARCH_PAGE = 3  # smaller still: a search returns only part of a type
# object type -> its store table, the store columns served as associations (not properties),
# and its creation date property
TABLES = {
    "companies": ("hubspot_companies", (), "createdate"),
    "deals": ("hubspot_deals", ("company_id",), "createdate"),
    "line_items": ("hubspot_line_items", ("deal_id",), "createdate"),
    "p_contracts": ("hubspot_contracts", ("deal_id",), "hs_createdate"),
}
# (from, to) -> association type, and the store pairs (from id, to id) it must list
ASSOCIATIONS = {
    ("deals", "companies"): ("deal_to_company", "select id, company_id from hubspot_deals"),
    ("deals", "line_items"): ("deal_to_line_item", "select deal_id, id from hubspot_line_items"),
    ("deals", "p_contracts"): ("deal_to_contracts", "select deal_id, id from hubspot_contracts"),
    ("companies", "deals"): ("company_to_deal", "select company_id, id from hubspot_deals"),
    ("line_items", "deals"): ("line_item_to_deal", "select id, deal_id from hubspot_line_items"),
    ("p_contracts", "deals"): ("contracts_to_deal", "select id, deal_id from hubspot_contracts"),
}


def rows(server, sql, *args) -> list[dict]:
    with server.store.connect() as conn:
        return [dict(row) for row in conn.execute(sql, args).fetchall()]


def store_columns(server, object_type: str) -> list[str]:
    table, hidden, _ = TABLES[object_type]
    return [name for name in rows(server, f"select * from {table} limit 1")[0] if name != "id"]


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
        assert body["total"] >= len(body["results"])
        assert all("associations" not in record for record in body["results"])
        records += body["results"]
        after = body.get("paging", {}).get("next", {}).get("after")
    return records


def since(value) -> dict:
    return {
        "filterGroups": [
            {
                "filters": [
                    {"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": value}
                ]
            }
        ],
        "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
    }


def as_sent(row: dict, object_type: str) -> dict:
    """A store row as HubSpot sends its properties: strings, null kept, no association ids."""
    _, hidden, _ = TABLES[object_type]
    properties = {
        name: None if value is None else str(value)
        for name, value in row.items()
        if name != "id" and name not in hidden
    }
    return properties | {"hs_object_id": str(row["id"])}


def set_search_result_limit(server, limit: int) -> None:
    with server.store.connect() as conn:
        conn.execute(
            "insert or replace into firm_meta (key, value) "
            "values ('hubspot_search_result_limit', ?)",
            (str(limit),),
        )
        conn.commit()


@pytest.mark.parametrize("object_type", sorted(TABLES))
def test_paging_returns_every_record_exactly_once_as_stored(sandbox, object_type):
    table, _, created = TABLES[object_type]
    wanted = ",".join(store_columns(sandbox, object_type))
    records, pages = listed(sandbox, object_type, limit=PAGE, properties=wanted)
    stored = rows(sandbox, f"select * from {table} order by id")
    assert len(stored) > PAGE and pages == -(-len(stored) // PAGE)
    assert [r["id"] for r in records] == [str(row["id"]) for row in stored]  # by id, once each
    for record, row in zip(records, stored, strict=True):
        assert record["properties"] == as_sent(row, object_type)
        assert (record["createdAt"], record["updatedAt"], record["archived"]) == (
            row[created],
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


def test_timestamps_are_utc_with_milliseconds_only_when_there_are_any(sandbox):
    deals, _ = listed(sandbox, "deals", limit=100)
    stamps = [d["updatedAt"] for d in deals] + [d["properties"]["createdate"] for d in deals]
    assert all(s.endswith("Z") and len(s) in (20, 24) for s in stamps)
    with_millis = [s for s in stamps if len(s) == 24]
    assert with_millis and len(with_millis) < len(stamps)  # both forms, as HubSpot writes them
    assert all(s[19] == "." and s[20:23] != "000" for s in with_millis)


@pytest.mark.parametrize("object_type", sorted(TABLES))
def test_search_from_a_modified_instant_returns_exactly_the_changes(sandbox, object_type):
    table = TABLES[object_type][0]
    stamps = sorted(
        epoch_ms(r["d"]) for r in rows(sandbox, f"select hs_lastmodifieddate d from {table}")
    )
    cut = stamps[len(stamps) // 2]
    expected = {
        str(r["id"])
        for r in rows(sandbox, f"select id, hs_lastmodifieddate d from {table}")
        if epoch_ms(r["d"]) >= cut
    }
    by_millis = searched(sandbox, object_type, since(str(cut)))
    assert len(by_millis) == len({r["id"] for r in by_millis}) == len(expected)
    assert {r["id"] for r in by_millis} == expected
    assert SEARCH_PAGE < len(by_millis) < len(stamps)  # several pages, not everything
    updated = [epoch_ms(r["updatedAt"]) for r in by_millis]
    assert updated == sorted(updated) and updated[0] >= cut  # ordered as instants, not text
    # the same instant as a number, and as ISO 8601 text, selects the same records
    assert searched(sandbox, object_type, since(cut)) == by_millis
    iso = by_millis[0]["updatedAt"]
    assert {r["id"] for r in searched(sandbox, object_type, since(iso))} == expected


def test_a_search_pages_no_further_than_its_result_limit(sandbox):
    set_search_result_limit(sandbox, 10)
    url = f"{sandbox.url}{OBJECTS}/deals/search"
    within = requests.post(url, json={"limit": 5, "after": "5"}, headers=AUTH, timeout=10)
    assert within.status_code == 200
    assert within.json()["total"] > 10 and within.json()["paging"]["next"]["after"] == "10"
    beyond = requests.post(url, json={"limit": 5, "after": "10"}, headers=AUTH, timeout=10)
    assert beyond.status_code == 400
    body = beyond.json()
    assert body["status"] == "error" and body["category"] == "VALIDATION_ERROR"
    assert "10" in body["message"] and body["correlationId"]


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
        # each pair once per association type: de-duplicated, the store's pairs exactly
        assert {key: sorted(ids, key=int) for key, ids in expected.items()} == {
            key: list(dict.fromkeys(a["id"] for a in results)) for key, results in served.items()
        }
        types = {a["type"] for results in served.values() for a in results}
        assert types == {association_type, f"{association_type}_unlabeled"}


def test_a_deals_primary_company_is_listed_under_both_association_types(sandbox):
    deals, _ = listed(sandbox, "deals", limit=100, associations="companies")
    for deal in deals:
        results = deal["associations"]["companies"]["results"]
        assert [a["type"] for a in results] == ["deal_to_company", "deal_to_company_unlabeled"]
        assert len({a["id"] for a in results}) == 1


def test_properties_chooses_the_fields_and_hubspot_adds_its_own(sandbox):
    contracts, _ = listed(
        sandbox, "p_contracts", limit=100, properties="version_number,contract_status,nonesuch"
    )
    assert contracts
    assert all(
        set(c["properties"])
        == {
            "version_number",
            "contract_status",
            "hs_object_id",
            "hs_createdate",
            "hs_lastmodifieddate",
        }
        for c in contracts
    )
    assert all(c["properties"]["version_number"].isdigit() for c in contracts)
    deals, _ = listed(sandbox, "deals", limit=100, properties="company_id,dealname")
    always = {"hs_object_id", "createdate", "hs_lastmodifieddate"}
    assert deals and all(set(d["properties"]) == {"dealname", *always} for d in deals)
    defaults, _ = listed(sandbox, "deals", limit=100)
    assert set(defaults[0]["properties"]) == {
        *("dealname", "amount", "closedate", "pipeline", "dealstage"),
        *always,
    }


def test_the_contracts_object_answers_to_every_name_hubspot_gives_it(sandbox):
    names = ("p_contracts", CONTRACTS_TYPE_ID, f"p{PORTAL_ID}_contracts")
    answers = [listed(sandbox, name, limit=100)[0] for name in names]
    assert answers[0] and answers[0] == answers[1] == answers[2]
    searches = [searched(sandbox, name, since("0")) for name in names]
    assert searches[0] and searches[0] == searches[1] == searches[2]
    standard, _ = listed(sandbox, "0-3", limit=100)  # deals by objectTypeId
    assert standard == listed(sandbox, "deals", limit=100)[0]


def test_unknown_associations_are_ignored_and_an_unknown_type_is_hubspots_400(sandbox):
    ignored = requests.get(
        f"{sandbox.url}{OBJECTS}/companies",
        params={"associations": "line_items,contacts"},
        headers=AUTH,
        timeout=10,
    )
    assert ignored.status_code == 200
    assert all("associations" not in record for record in ignored.json()["results"])
    unknown = requests.get(f"{sandbox.url}{OBJECTS}/contacts", headers=AUTH, timeout=10)
    assert unknown.status_code == 400
    assert unknown.json()["message"] == "Unable to infer object type from: contacts"


def test_archived_lists_nothing(sandbox):
    url = f"{sandbox.url}{OBJECTS}/deals"
    archived = requests.get(url, params={"archived": "true"}, headers=AUTH, timeout=10).json()
    live = requests.get(url, params={"archived": "false"}, headers=AUTH, timeout=10).json()
    assert archived == {"results": []}
    assert live["results"] and live["paging"]["next"]["after"]


def test_401_without_or_with_a_wrong_token_in_hubspots_words(sandbox):
    wrong = {"Authorization": "Bearer nope"}
    for object_type in TABLES:
        for method, path, body in [
            ("get", f"{OBJECTS}/{object_type}", None),
            ("post", f"{OBJECTS}/{object_type}/search", {}),
        ]:
            call = getattr(requests, method)
            for headers in ({}, wrong):
                answer = call(sandbox.url + path, json=body, headers=headers, timeout=10)
                assert answer.status_code == 401, path
                assert answer.json()["category"] == "INVALID_AUTHENTICATION"
                assert answer.json()["message"].startswith("Authentication credentials not found")


def test_a_missing_scope_is_hubspots_403_naming_the_scope(sandbox):
    denied = {"hubspot": ["crm.objects.custom.read"]}
    assert requests.post(f"{sandbox.url}/_sandbox/permissions", json=denied, timeout=10).ok
    refused = requests.get(f"{sandbox.url}{OBJECTS}/p_contracts", headers=AUTH, timeout=10)
    assert refused.status_code == 403
    body = refused.json()
    assert body["category"] == "MISSING_SCOPES"
    assert body["errors"][0]["context"]["requiredGranularScopes"] == ["crm.objects.custom.read"]
    assert requests.get(f"{sandbox.url}{OBJECTS}/deals", headers=AUTH, timeout=10).ok


def test_throttling_is_hubspots_429_with_its_rate_limit_headers(sandbox):
    plan = {"hubspot": {"http_429": 1.0}}
    assert requests.post(f"{sandbox.url}/_sandbox/faults", json=plan, timeout=10).ok
    throttled = requests.get(f"{sandbox.url}{OBJECTS}/deals", headers=AUTH, timeout=10)
    assert throttled.status_code == 429
    assert throttled.json()["errorType"] == "RATE_LIMIT"
    assert throttled.json()["policyName"] == "TEN_SECONDLY_ROLLING"
    assert throttled.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    assert throttled.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    assert "Retry-After" not in throttled.headers


# ---------------------------------------------------------------- the connector's search windows


def load_deals(server, tmp_path, result_limit: int) -> tuple[list[tuple], IngestStats, list[dict]]:
    """The connector's deals, searched 3 at a time, landed in DuckDB; and the searches sent."""
    requests.delete(f"{server.url}/_sandbox/requests", timeout=10)
    stats = IngestStats()
    source = hubspot_source(
        f"{server.url}/hubspot",
        SANDBOX_TOKEN,
        stats=stats,
        page_size=3,
        search_result_limit=result_limit,
    ).with_resources("deals")
    pipeline = dlt.pipeline(
        pipeline_name="hubspot_windows",
        destination=dlt.destinations.duckdb(str(tmp_path / "windows.duckdb")),
        dataset_name="raw_hubspot",
        pipelines_dir=str(tmp_path / "dlt"),
    )
    pipeline.run(source)
    with duckdb.connect(str(tmp_path / "windows.duckdb"), read_only=True) as conn:
        landed = conn.execute("select id, updated_at from raw_hubspot.deals").fetchall()
    log = requests.get(f"{server.url}/_sandbox/requests", timeout=10).json()["requests"]
    return landed, stats, [json.loads(e["body"]) for e in log if e["path"].endswith("/search")]


def test_a_backlog_longer_than_a_search_is_walked_in_windows_without_loss_or_twins(
    sandbox, tmp_path
):
    # six deals saved in one millisecond, which the first window's last page cuts through
    with sandbox.store.connect() as conn:
        ids = [r[0] for r in conn.execute("select id from hubspot_deals order by id limit 6")]
        conn.execute(
            f"update hubspot_deals set hs_lastmodifieddate = '2024-12-31T23:00:00.500Z' "
            f"where id in ({','.join('?' * len(ids))})",
            ids,
        )
        conn.commit()
    set_search_result_limit(sandbox, 9)
    landed, stats, searches = load_deals(sandbox, tmp_path, result_limit=9)
    stored = rows(sandbox, "select id from hubspot_deals")
    assert sorted(r[0] for r in landed) == sorted(str(r["id"]) for r in stored)
    assert stats.of("deals").rows_landed == len(stored)  # no record landed twice
    windows = [s["filterGroups"][0]["filters"][0]["value"] for s in searches if "after" not in s]
    assert len(windows) > len(stored) // 9  # one search from the start, then a window per 9
    assert windows[0] == "1000" and [int(w) for w in windows] == sorted(int(w) for w in windows)
    assert all(int(s.get("after", 0)) + 3 <= 9 for s in searches)  # never past the limit


def test_more_records_in_one_millisecond_than_a_search_returns_stop_the_run(sandbox, tmp_path):
    with sandbox.store.connect() as conn:
        conn.execute("update hubspot_deals set hs_lastmodifieddate = '2025-01-01T00:00:00Z'")
        conn.commit()
    set_search_result_limit(sandbox, 6)
    with pytest.raises(Exception) as failed:  # noqa: PT011 (dlt wraps it: the cause is checked)
        load_deals(sandbox, tmp_path, result_limit=6)
    causes = [failed.value]
    while causes[-1].__cause__ or causes[-1].__context__:
        causes.append(causes[-1].__cause__ or causes[-1].__context__)
    stuck = [cause for cause in causes if isinstance(cause, SearchWindowStuck)]
    assert stuck and "in the millisecond 1735689600000" in str(stuck[0])
