"""HubSpot's official Python SDK (hubspot-api-client, a check no one here wrote) reads the sandbox.

The SDK's generated models parse HubSpot's answers strictly (required `id`, `properties`,
`createdAt`, `updatedAt`; timestamps to datetimes; `paging.next.after`), so what it parses from
the sandbox, compared with the store, says the sandbox answers as HubSpot does: lists paged to
the end, searches on `hs_lastmodifieddate` in epoch milliseconds, associations, and the
contracts custom object under each of its names.
"""

from datetime import datetime

import hubspot
import pytest
from hubspot.crm.objects import Filter, FilterGroup, PublicObjectSearchRequest

from psa_pipeline.sandbox.hubspot import CONTRACTS_TYPE_ID, OBJECT_TYPES, PORTAL_ID, epoch_ms
from psa_pipeline.settings import SANDBOX_TOKEN
from tests.helpers import hubspot_properties

TYPES = ("deals", "companies", "line_items", "p_contracts")


@pytest.fixture
def sdk(sandbox) -> hubspot.Client:
    """The SDK pointed at the sandbox: its Configuration host, a private app token."""
    return hubspot.Client.create(access_token=SANDBOX_TOKEN, host=f"{sandbox.url}/hubspot")


def stored(sandbox, object_type: str) -> dict[str, dict]:
    kind = OBJECT_TYPES[object_type]
    with sandbox.store.connect() as conn:
        return {str(row["id"]): dict(row) for row in conn.execute(f"select * from {kind.table}")}


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def assert_parsed_as_stored(sandbox, object_type: str, records: list) -> None:
    """What the SDK parsed equals the store: ids, every property's text, the two stamps."""
    kind = OBJECT_TYPES[object_type]
    rows = stored(sandbox, object_type)
    assert records and sorted(r.id for r in records) == sorted(rows)
    hidden = {"id", *kind.references.values()}
    for record in records:
        row = rows[record.id]
        expected = {k: None if v is None else str(v) for k, v in row.items() if k not in hidden}
        assert record.properties == expected | {"hs_object_id": record.id}
        assert record.created_at == instant(row[kind.created])
        assert record.updated_at == instant(row["hs_lastmodifieddate"])
        assert record.archived is False


def since(stamp_ms: int) -> list[FilterGroup]:
    return [
        FilterGroup(
            filters=[
                Filter(property_name="hs_lastmodifieddate", operator="GTE", value=str(stamp_ms))
            ]
        )
    ]


def searched_all(search_api, properties: list[str], cut: int, *object_type) -> tuple[list, int]:
    """Every page of a search from `cut`, following `paging.next.after`; and its total."""
    results, after, total = [], None, None
    while True:
        page = search_api.do_search(
            *object_type,
            public_object_search_request=PublicObjectSearchRequest(
                filter_groups=since(cut),
                sorts=[{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
                properties=properties,
                limit=50,
                after=after,
            ),
        )
        results += page.results
        total = page.total
        if page.paging is None:
            return results, total
        after = page.paging.next.after


@pytest.mark.parametrize("object_type", ["deals", "companies", "line_items"])
def test_the_sdk_lists_and_searches_standard_objects_as_the_store_has_them(
    sandbox, sdk, object_type
):
    discovery = getattr(sdk.crm, object_type)
    properties = hubspot_properties(sandbox, object_type)
    listed = discovery.get_all(properties=properties)
    assert_parsed_as_stored(sandbox, object_type, listed)

    stamps = sorted(
        epoch_ms(r["hs_lastmodifieddate"]) for r in stored(sandbox, object_type).values()
    )
    cut = stamps[len(stamps) // 3]
    found, total = searched_all(discovery.search_api, properties, cut)
    assert total == len(found) == sum(stamp >= cut for stamp in stamps) > 0
    assert [r.updated_at for r in found] == sorted(r.updated_at for r in found)
    assert_parsed_as_stored_subset(sandbox, object_type, found)


def assert_parsed_as_stored_subset(sandbox, object_type: str, records: list) -> None:
    rows = stored(sandbox, object_type)
    for record in records:
        row = rows[record.id]
        assert record.updated_at == instant(row["hs_lastmodifieddate"])
        assert record.properties["hs_lastmodifieddate"] == row["hs_lastmodifieddate"]


def test_the_sdk_reads_each_deals_companies_and_each_line_items_deal(sandbox, sdk):
    deals = sdk.crm.deals.get_all(associations=["companies"])
    company_of = {d: row["company_id"] for d, row in stored(sandbox, "deals").items()}
    for deal in deals:
        associated = deal.associations["companies"].results
        assert {a.id for a in associated} == {str(company_of[deal.id])}
        assert {a.type for a in associated} == {"deal_to_company", "deal_to_company_unlabeled"}
    items = sdk.crm.line_items.get_all(associations=["deals"])
    deal_of = {i: str(row["deal_id"]) for i, row in stored(sandbox, "line_items").items()}
    assert {i.id: {a.id for a in i.associations["deals"].results} for i in items} == {
        i: {d} for i, d in deal_of.items()
    }


@pytest.mark.parametrize("name", ["p_contracts", CONTRACTS_TYPE_ID, f"p{PORTAL_ID}_contracts"])
def test_the_sdk_reads_the_contracts_object_by_each_of_its_names(sandbox, sdk, name):
    properties = hubspot_properties(sandbox, "p_contracts")
    listed = sdk.crm.objects.get_all(name, properties=properties, associations=["deals"])
    assert_parsed_as_stored(sandbox, "p_contracts", listed)
    deal_of = {c: str(row["deal_id"]) for c, row in stored(sandbox, "p_contracts").items()}
    assert all({a.id for a in c.associations["deals"].results} == {deal_of[c.id]} for c in listed)
    found, total = searched_all(sdk.crm.objects.search_api, properties, 0, name)
    assert total == len(found) == len(listed)
