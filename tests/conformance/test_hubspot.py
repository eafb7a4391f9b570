"""HubSpot's documented payloads, replayed through the ingest asset and the staging models.

The fixtures (fixtures/hubspot/SOURCES.md) are HubSpot's shapes with public clients' values:
every property text, timestamps with and without milliseconds (and one `+00:00`), a null
`closedate`, no parent companies, a deal's company listed under two association types, and the
contracts custom object addressed by its objectTypeId, set as dlt config.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import dagster as dg
import pytest

from psa_pipeline.settings import Settings, SourceEndpoint
from tests.conformance.harness import land, rows, settings_for_vendor, stage
from tests.conformance.replay import Exchange, ReplayServer, fixture

TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"  # a private app token's form
CONTRACTS_OBJECT = "2-123456"  # the objectTypeId of HubSpot's schemas example
BEARER = {"authorization": f"Bearer {TOKEN}"}
OBJECTS = "/crm/v3/objects"
# the first run searches from the epoch's first second (1,000 ms): HubSpot answers the epoch
# itself with a 500 (estuary source-hubspot-native)
FIRST_CURSOR = "1000"
NEWEST_DEAL = "2023-02-24T03:53:43.118Z"  # the newest updatedAt of the first run's deals
NEWEST_COMPANY = "2023-02-24T03:25:53.252Z"


def millis(stamp: str) -> str:
    at = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return str(round((at - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() * 1000))


def searched_from(value: str) -> str:
    return (
        rf'"propertyName":\s*"hs_lastmodifieddate",\s*"operator":\s*"GTE",\s*"value":\s*"{value}"'
    )


def search(object_type: str, payload, since: str, after: str | None = None) -> Exchange:
    body = (searched_from(since), rf'"after":\s*"{after}"') if after else (searched_from(since),)
    return Exchange("POST", f"{OBJECTS}/{object_type}/search", payload, body=body, headers=BEARER)


def listing(path: str, payload, associations: str) -> Exchange:
    return Exchange(
        "GET", f"{OBJECTS}/{path}", payload, params={"associations": associations}, headers=BEARER
    )


def documented_portal() -> list[Exchange]:
    """The first run's answers, then the second run's (searched from the newest instant)."""
    return [
        search("deals", fixture("hubspot", "deals_search_page2.json"), FIRST_CURSOR, after="1"),
        search("deals", fixture("hubspot", "deals_search_page1.json"), FIRST_CURSOR),
        search("companies", fixture("hubspot", "companies_search.json"), FIRST_CURSOR),
        search("deals", fixture("hubspot", "deals_search_changed.json"), millis(NEWEST_DEAL)),
        search("companies", {"total": 0, "results": []}, millis(NEWEST_COMPANY)),
        listing("deals", fixture("hubspot", "deals_with_companies.json"), "companies"),
        listing("line_items", fixture("hubspot", "line_items_list.json"), "deals"),
        listing(CONTRACTS_OBJECT, fixture("hubspot", "contracts_list.json"), "deals"),
    ]


def empty_portal() -> list[Exchange]:
    nothing_searched, nothing_listed = {"total": 0, "results": []}, {"results": []}
    return [
        search("deals", nothing_searched, r"\d+"),
        search("companies", nothing_searched, r"\d+"),
        listing("deals", nothing_listed, "companies"),
        listing("line_items", nothing_listed, "deals"),
        listing(CONTRACTS_OBJECT, nothing_listed, "deals"),
    ]


@pytest.fixture
def contracts_setting(monkeypatch):
    """The portal's contracts object, set as a user would (dlt config from the environment)."""
    monkeypatch.setenv("SOURCES__HUBSPOT__CONTRACTS_OBJECT", CONTRACTS_OBJECT)


def land_and_stage(vendor: ReplayServer, tmp_path, instance) -> Settings:
    """One run of the ingest asset against the replayed portal, then the staging models."""
    endpoint = SourceEndpoint(base_url=vendor.url, access_token=TOKEN)
    settings = settings_for_vendor("hubspot", tmp_path / "data", endpoint)
    land("hubspot", settings, instance)
    stage("hubspot", settings, tmp_path)
    return settings


def staged(settings, model: str, order: str) -> list[dict]:
    return rows(settings, f"select * from staging.{model} order by {order}")


def test_documented_payloads_land_typed_and_a_second_run_asks_from_the_newest_instant(
    tmp_path, contracts_setting
):
    with ReplayServer(documented_portal()) as vendor, dg.instance_for_test() as instance:
        settings = land_and_stage(vendor, tmp_path, instance)

        deals = staged(settings, "stg_hubspot__deals", "deal_id")
        assert [(d["deal_id"], d["deal_amount"], d["deal_currency"]) for d in deals] == [
            ("6744192456", Decimal("500.00"), "USD"),
            ("6744457152", Decimal("3233.00"), "EUR"),
        ]
        assert all(d["closed_on"] is None and d["project_code"] is None for d in deals)
        assert deals[0]["updated_at"].replace(tzinfo=UTC) == datetime(
            2023, 2, 24, 3, 1, 1, 711000, tzinfo=UTC
        )
        assert not deals[0]["is_won"] and not deals[0]["is_closed"]

        companies = staged(settings, "stg_hubspot__companies", "company_id")
        assert [c["parent_company_id"] for c in companies] == [None, None]  # no client group
        assert [c["erp_customer_id"] for c in companies] == [None, 4711]
        assert companies[0]["company_domain"] == "hubspot.com"

        pairs = staged(settings, "stg_hubspot__deal_companies", "deal_id, company_id")
        assert [(p["deal_id"], p["company_id"], p["association_type"]) for p in pairs] == [
            ("6744192456", "7086461639", "deal_to_company"),
            ("6744457152", "7086461639", "deal_to_company_unlabeled"),
            ("6744457152", "7086464459", "deal_to_company"),
        ]

        lines = staged(settings, "stg_hubspot__line_items", "line_item_id")
        assert [
            (li["line_item_id"], li["deal_id"], li["quantity"], li["unit_price_amount"])
            for li in lines
        ] == [
            ("1155995587", "6744457152", Decimal("1.0000"), Decimal("3233.00")),
            ("312929581", "6744192456", Decimal("2.0000"), Decimal("250.00")),
        ]
        assert [(li["line_amount"], li["line_currency"]) for li in lines] == [
            (Decimal("3233.00"), "EUR"),
            (Decimal("500.00"), "USD"),
        ]

        (contract,) = staged(settings, "stg_hubspot__contract_versions", "contract_version_id")
        assert (contract["contract_version_id"], contract["deal_id"]) == ("18432601", "6744457152")
        assert (contract["effective_on"], contract["contract_ends_on"]) == (
            date(2023, 3, 1),
            date(2023, 12, 31),
        )
        assert contract["contract_value_amount"] == Decimal("3233.00")
        assert contract["consultant_rate_amount"] == Decimal("120.50")
        assert contract["monthly_fee_amount"] is None  # HubSpot's empty string: no value
        assert (contract["contract_currency"], contract["version_number"]) == ("EUR", 1)
        assert contract["signed_on"] == date(2023, 2, 24) and contract["is_current_version"]

        first_searches = vendor.asked(f"{OBJECTS}/deals/search", "POST")
        assert len(first_searches) == 2  # two pages
        assert all(
            r.json()["filterGroups"][0]["filters"][0]["value"] == "1000" for r in first_searches
        )

        vendor.clear()
        land("hubspot", settings, instance)
        stage("hubspot", settings, tmp_path)
        (second,) = vendor.asked(f"{OBJECTS}/deals/search", "POST")
        # the cursor: epoch ms of the newest updatedAt loaded, an instant, not its text
        assert second.json()["filterGroups"][0]["filters"][0]["value"] == millis(NEWEST_DEAL)
        assert "after" not in second.json()
        won = staged(settings, "stg_hubspot__deals", "deal_id")[0]
        assert (won["deal_amount"], won["is_won"], won["project_code"]) == (
            Decimal("750.50"),
            True,
            "PRJ-1001",
        )
        assert won["closed_on"] == date(2023, 3, 1)
        assert len(staged(settings, "stg_hubspot__deals", "deal_id")) == 2


def test_an_empty_portal_lands_every_table_with_its_columns_and_staging_builds(
    tmp_path, contracts_setting
):
    with ReplayServer(empty_portal()) as vendor, dg.instance_for_test() as instance:
        settings = land_and_stage(vendor, tmp_path, instance)
        columns = {
            (r["table_name"], r["column_name"]): r["data_type"]
            for r in rows(
                settings,
                "select table_name, column_name, data_type from information_schema.columns "
                "where table_schema = 'raw_hubspot'",
            )
        }
        assert columns[("deals", "properties__amount")] == "DECIMAL(18,4)"
        assert columns[("companies", "properties__hs_parent_company_id")] == "VARCHAR"
        assert columns[("p_contracts", "properties__effective_date")] == "DATE"
        assert columns[("line_items", "deal_id")] == "VARCHAR"
        assert columns[("deal_companies", "company_id")] == "VARCHAR"
        for model in (
            "deals",
            "companies",
            "line_items",
            "contract_versions",
            "deal_companies",
        ):
            assert rows(settings, f"select count(*) n from staging.stg_hubspot__{model}") == [
                {"n": 0}
            ]
