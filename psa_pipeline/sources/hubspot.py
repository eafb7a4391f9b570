"""HubSpot CRM v3: deals and companies, and the quotes (line items) and contracts of deals.

Deals and companies are read incrementally through the search endpoint, filtered on
`hs_lastmodifieddate >= cursor` and sorted ascending, paged by the cursor HubSpot returns in
`paging.next.after` and takes back in the JSON body. A filtered search stops at 10,000 results;
a backlog larger than that must be walked in date windows (not needed for the firms this has
met yet).

Search returns no associations, and a line item or a contract (the `p_contracts` custom object)
is nothing without its deal, so those two are listed whole on every run with `associations=deals`
and merged on id; the deal's id becomes the column `deal_id`. Which companies a deal is with is
read the same way (deals listed with `associations=companies`, into `deal_companies`). That costs a page per 100 records
a night; a tenant with many thousands would read changed ids by search and their associations
through the v4 batch associations API instead.
"""

from __future__ import annotations

from collections.abc import Iterator

import dlt
from dlt.sources.helpers.rest_client.auth import BearerTokenAuth
from dlt.sources.helpers.rest_client.paginators import JSONResponseCursorPaginator
from dlt.sources.rest_api import RESTAPIConfig

from psa_pipeline.settings import SourceEndpoint
from psa_pipeline.sources import INITIAL_CURSOR
from psa_pipeline.sources.landing import IngestStats, PageFormat, RecordRules, landed_resources
from psa_pipeline.sources.probes import Probe, SourceProbes, json_with

PAGE_SIZE = 100  # HubSpot's maximum
COMPANY_PROPERTIES = [
    "name",
    "domain",
    "country",
    "hs_parent_company_id",
    "netsuite_customer_id",
    "createdate",
    "hs_lastmodifieddate",
]
LINE_ITEM_PROPERTIES = [
    "name",
    "quantity",
    "price",
    "amount",
    "hs_line_item_currency_code",
    "createdate",
    "hs_lastmodifieddate",
]
CONTRACT_PROPERTIES = [
    "contract_number",
    "version_number",
    "project_code",
    "billing_model",
    "contract_currency",
    "effective_date",
    "end_date",
    "total_value",
    "monthly_fee",
    *(
        f"rate_{role}"
        for role in ("analyst", "consultant", "senior_consultant", "manager", "partner")
    ),
    "amendment_reason",
    "contract_status",
    "createdate",
    "hs_lastmodifieddate",
]
DEAL_PROPERTIES = [
    "dealname",
    "amount",
    "deal_currency_code",
    "dealstage",
    "pipeline",
    "closedate",
    "psa_project_code",
    "createdate",
    "hs_lastmodifieddate",
]


RULES = {
    "deals": RecordRules(currencies=("properties.deal_currency_code",)),
    "line_items": RecordRules(currencies=("properties.hs_line_item_currency_code",)),
    "p_contracts": RecordRules(currencies=("properties.contract_currency",)),
}


def _searched(object_type: str, properties: list[str]) -> dict:
    """Records changed since the cursor, through the search endpoint."""
    return {
        "name": object_type,
        "endpoint": {
            "path": f"crm/v3/objects/{object_type}/search",
            "method": "POST",
            "json": {
                "filterGroups": [
                    {
                        "filters": [
                            {
                                "propertyName": "hs_lastmodifieddate",
                                "operator": "GTE",
                                "value": "{incremental.start_value}",
                            }
                        ]
                    }
                ],
                "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
                "properties": properties,
                "limit": PAGE_SIZE,
            },
            "paginator": JSONResponseCursorPaginator(
                cursor_path="paging.next.after", cursor_body_path="after"
            ),
            "data_selector": "results",
            "incremental": {"cursor_path": "updatedAt", "initial_value": INITIAL_CURSOR},
        },
        "columns": {"id": {"data_type": "text"}},
    }


def _with_deal_id(record: dict) -> dict:
    """The one deal a line item or contract belongs to, as a column instead of a nested list."""
    deals = record.pop("associations", {}).get("deals", {}).get("results", [])
    record["deal_id"] = deals[0]["id"] if deals else None
    return record


def _listed_with_deal(object_type: str, properties: list[str]) -> dict:
    """Every record, each with its deal's id (search cannot return associations)."""
    return {
        "name": object_type,
        "endpoint": {
            "path": f"crm/v3/objects/{object_type}",
            "params": {
                "limit": PAGE_SIZE,
                "properties": ",".join(properties),
                "associations": "deals",
            },
            "paginator": JSONResponseCursorPaginator(
                cursor_path="paging.next.after", cursor_param="after"
            ),
            "data_selector": "results",
        },
        "columns": {"id": {"data_type": "text"}, "deal_id": {"data_type": "text"}},
        "processing_steps": [{"map": _with_deal_id}],
    }


def _deal_company_pairs(deal: dict) -> Iterator[dict]:
    """One row per company a deal is associated with (HubSpot allows several)."""
    for company in deal.get("associations", {}).get("companies", {}).get("results", []):
        yield {"deal_id": deal["id"], "company_id": company["id"], "type": company.get("type")}


def _deal_companies() -> dict:
    """Every deal's companies, listed whole like line items (search cannot return them)."""
    return {
        "name": "deal_companies",
        "primary_key": ["deal_id", "company_id"],
        "endpoint": {
            "path": "crm/v3/objects/deals",
            "params": {
                "limit": PAGE_SIZE,
                "properties": "hs_lastmodifieddate",
                "associations": "companies",
            },
            "paginator": JSONResponseCursorPaginator(
                cursor_path="paging.next.after", cursor_param="after"
            ),
            "data_selector": "results",
        },
        "records_of_page": _deal_company_pairs,
        "columns": {"deal_id": {"data_type": "text"}, "company_id": {"data_type": "text"}},
    }


@dlt.source(name="hubspot")
def hubspot_source(
    base_url: str = dlt.config.value,
    access_token: str = dlt.secrets.value,
    page_format: PageFormat = "arrow",
    stats: IngestStats | None = None,
):
    """Yields `deals`, `companies`, `line_items` and `p_contracts`, one row per record, the
    properties flattened to `properties__<name>`, and `deal_companies`, one row per deal and
    company associated (`deal_id`, `company_id`)."""
    config: RESTAPIConfig = {
        "client": {
            "base_url": base_url.rstrip("/") + "/",
            "auth": {"type": "bearer", "token": access_token},
        },
        "resource_defaults": {"write_disposition": "merge", "primary_key": "id"},
        "resources": [
            _searched("deals", DEAL_PROPERTIES),
            _searched("companies", COMPANY_PROPERTIES),
            _listed_with_deal("line_items", LINE_ITEM_PROPERTIES),
            _listed_with_deal("p_contracts", CONTRACT_PROPERTIES),
            _deal_companies(),
        ],
    }
    yield from landed_resources(config, "hubspot", RULES, stats, page_format)


def probes(endpoint: SourceEndpoint) -> SourceProbes:
    """One record of each object type, listed and searched, as the source reads them."""
    listed = tuple(
        Probe(
            name.replace("_", " "),
            "GET",
            f"crm/v3/objects/{name}",
            json_with("results"),
            params={"limit": 1},
            permission=f"the private app's read scope for {name}",
        )
        for name in ("deals", "companies", "line_items", "p_contracts")
    )
    searched = Probe(
        "deals search",
        "POST",
        "crm/v3/objects/deals/search",
        json_with("results"),
        json={"limit": 1, "properties": ["hs_lastmodifieddate"]},
        permission="the private app's read scope for deals",
    )
    return SourceProbes(
        base_url=endpoint.base_url.rstrip("/") + "/",
        auth=BearerTokenAuth(endpoint.access_token),
        headers={},
        probes=(*listed, searched),
        settings_hint="SOURCES__HUBSPOT__BASE_URL, SOURCES__HUBSPOT__ACCESS_TOKEN",
    )
