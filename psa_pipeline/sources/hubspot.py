"""HubSpot CRM v3: deals and companies, and the quotes (line items) and contracts of deals.

Deals and companies are read incrementally through the search endpoint, filtered on
`hs_lastmodifieddate >= cursor` and sorted ascending, paged by the cursor HubSpot returns in
`paging.next.after` and takes back in the JSON body. HubSpot's date filters take UNIX
milliseconds, so the cursor (the newest `updatedAt` loaded, an instant) is sent as milliseconds.
A search pages through at most 10,000 results (a page beyond them is a 400), so a longer backlog
is walked in windows: when the next page would pass the limit, the search starts again from the
newest `hs_lastmodifieddate` it has seen (`SearchWindows`); the records of that millisecond
come twice and the second copy is dropped (`_first_sight`).

Search returns no associations, and a line item or a contract (a custom object) is nothing
without its deal, so those two are listed whole on every run with `associations=deals` and
merged on id; the deal's id becomes the column `deal_id`. Which companies a deal is with is
read the same way (deals listed with `associations=companies`, into `deal_companies`). HubSpot
lists a pair once per association type (the primary company as `deal_to_company` and
`deal_to_company_unlabeled`), so pairs are de-duplicated. That costs a page per 100 records a
night; a tenant with many thousands would read changed ids by search and their associations
through the v4 batch associations API instead.

The contracts object is a setting (`contracts_object`, dlt config
`SOURCES__HUBSPOT__CONTRACTS_OBJECT`): a real portal names its custom object by objectTypeId
(`2-…`), fully qualified name (`p<portalId>_contracts`) or `p_<name>`; it lands in `p_contracts`
whatever it is called.

Where each fact comes from (where sources disagree, the one followed is named):
- Record shape `id`, `properties`, `createdAt`, `updatedAt`, `archived`; properties are text:
  HubSpot's OpenAPI spec, HubSpot/HubSpot-public-api-spec-collection
  PublicApiSpecs/CRM/Deals/Rollouts/424/v3/deals.json (SimplePublicObjectWithAssociations,
  `properties: {string: string}`); values as in dlt-hub/verified-sources
  tests/hubspot/mock_data.py (`"amount": "500"`, `"closedate": None`, timestamps with and without
  milliseconds). Airbyte's unit-test fixtures (source-hubspot unit_tests/resource/http/response)
  write `+00:00` offsets; both forms are read as instants.
- Search: the same spec (PublicObjectSearchRequest, CollectionResponseWithTotal: `total`,
  `results`, `paging`); date filter values in UNIX milliseconds:
  developers.hubspot.com/docs/faq/how-should-timestamps-be-formatted-for-hubspots-apis (estuary's
  source-hubspot-native sends ISO text instead; HubSpot's own page is followed). The 10,000 cap:
  the search guide's Limitations, as quoted in NangoHQ's HubSpot sync guide and Airbyte PR 10700;
  the window walk as in estuary/connectors source-hubspot-native api/search_objects.py.
- Associations and their duplicates: hubspot-api-ruby issue 262 (`deal_to_company` and
  `deal_to_company_unlabeled` for one company), Airbyte issue 30292.
- Custom object names: HubSpot's schemas API reference (objectTypeId `2-123456`);
  singer-io/tap-hubspot (`/crm/v3/objects/p_{object_name}`); a custom object's creation date is
  `hs_createdate` (dlt mock_data's quotes); `createdAt` is read instead, which every object has.
- Property names: deals `dealname amount deal_currency_code dealstage pipeline closedate`,
  companies `name domain country hs_parent_company_id`, line items `name quantity price amount
  hs_line_item_currency_code` (HubSpot's default properties; amp-labs/connectors PR 1271 shows
  `hs_parent_company_id: null`); `psa_project_code`, `netsuite_customer_id` and the contract
  fields are this firm's custom properties.
- Scopes: crm.objects.{deals,companies,line_items}.read, crm.objects.custom.read (the spec's
  `security`); errors: see psa_pipeline/sandbox/hubspot.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import dlt
import requests
from dlt.sources.helpers.rest_client.auth import BearerTokenAuth
from dlt.sources.helpers.rest_client.paginators import JSONResponseCursorPaginator
from dlt.sources.rest_api import RESTAPIConfig

from psa_pipeline.settings import SourceEndpoint
from psa_pipeline.sources.landing import (
    IngestStats,
    PageFormat,
    RecordRules,
    in_utc,
    landed_resources,
)
from psa_pipeline.sources.probes import Probe, SourceProbes, json_with

PAGE_SIZE = 100  # HubSpot's maximum for lists (search takes 200; one size keeps one rhythm)
SEARCH_RESULT_LIMIT = 10_000  # a search pages through no more results than this
CONTRACTS_OBJECT = "p_contracts"  # what the sandbox calls it; a real portal: its objectTypeId
# HubSpot answers a search from the epoch itself with a 500 (estuary source-hubspot-native
# api/shared.py, EPOCH_PLUS_ONE_SECOND), so the first run searches from a second later.
INITIAL_CURSOR = "1970-01-01T00:00:01Z"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Each resource's properties and the type each lands as; everything else stays text.
TIMESTAMP, DECIMAL, DATE, TEXT = "timestamp", "decimal", "date", "text"
DEAL_PROPERTIES = {
    "dealname": TEXT,
    "amount": DECIMAL,
    "deal_currency_code": TEXT,
    "dealstage": TEXT,
    "pipeline": TEXT,
    "closedate": TIMESTAMP,
    "psa_project_code": TEXT,
    "createdate": TIMESTAMP,
    "hs_lastmodifieddate": TIMESTAMP,
}
COMPANY_PROPERTIES = {
    "name": TEXT,
    "domain": TEXT,
    "country": TEXT,
    "hs_parent_company_id": TEXT,
    "netsuite_customer_id": TEXT,
    "createdate": TIMESTAMP,
    "hs_lastmodifieddate": TIMESTAMP,
}
LINE_ITEM_PROPERTIES = {
    "name": TEXT,
    "quantity": DECIMAL,
    "price": DECIMAL,
    "amount": DECIMAL,
    "hs_line_item_currency_code": TEXT,
    "createdate": TIMESTAMP,
    "hs_lastmodifieddate": TIMESTAMP,
}
ROLES = ("analyst", "consultant", "senior_consultant", "manager", "partner")
CONTRACT_PROPERTIES = {
    "contract_number": TEXT,
    "version_number": TEXT,
    "project_code": TEXT,
    "billing_model": TEXT,
    "contract_currency": TEXT,
    "effective_date": DATE,
    "end_date": DATE,
    "total_value": DECIMAL,
    "monthly_fee": DECIMAL,
    **{f"rate_{role}": DECIMAL for role in ROLES},
    "amendment_reason": TEXT,
    "contract_status": TEXT,
    "hs_createdate": TIMESTAMP,
    "hs_lastmodifieddate": TIMESTAMP,
}


def _rules(properties: dict[str, str], currency: str | None = None) -> RecordRules:
    """Money and quantities must be numbers once `_typed` has read them: a record whose amount
    is text that is no number goes to quarantine with the reason; currencies must be ISO 4217."""
    return RecordRules(
        numbers={
            f"properties.{name}": (None, None) for name, k in properties.items() if k == DECIMAL
        },
        currencies=(f"properties.{currency}",) if currency else (),
    )


RULES = {
    "deals": _rules(DEAL_PROPERTIES, "deal_currency_code"),
    "line_items": _rules(LINE_ITEM_PROPERTIES, "hs_line_item_currency_code"),
    "p_contracts": _rules(CONTRACT_PROPERTIES, "contract_currency"),
}


def epoch_ms(instant: str) -> str:
    """An ISO 8601 instant (any offset) as the UNIX milliseconds HubSpot's date filters take,
    computed from the instant, never from its text."""
    at = _instant(instant)
    if at is None:
        raise ValueError(f"hubspot: {instant!r} is not an ISO 8601 instant")
    return _millis(at)


def _millis(at: datetime) -> str:
    return str((at - EPOCH) // timedelta(milliseconds=1))


def _columns(properties: dict[str, str], **more: dict) -> dict[str, dict]:
    """Every column staging reads, typed, so a property no record fills (no parent companies
    yet) or an empty first page still makes its column. One dict per column: dlt writes the
    column's name into its hint."""
    return {
        "id": {"data_type": "text"},
        "createdAt": {"data_type": "timestamp"},
        "updatedAt": {"data_type": "timestamp"},
        "archived": {"data_type": "bool"},
        # `__`-joined: a dotted key would also make dlt add an empty `properties_<name>` column
        **{f"properties__{name}": {"data_type": kind} for name, kind in properties.items()},
        **more,
    }


def _typed(properties: dict[str, str]) -> Callable[[dict], dict]:
    """A map step: HubSpot's text made the values its columns declare. Numbers become numbers
    (text that is none stays text, and the landing step quarantines the record with the reason);
    an empty string is no value; a date property may come as a date, a midnight instant or
    milliseconds, and becomes the date."""
    numbers = [name for name, kind in properties.items() if kind == DECIMAL]
    dates = [name for name, kind in properties.items() if kind == DATE]

    def step(record: dict) -> dict:
        values = record.get("properties") or {}
        for name in numbers:
            values[name] = _number(values.get(name))
        for name in dates:
            values[name] = _date(values.get(name))
        return record

    return step


def _number(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    if not text.strip():
        return None
    try:
        return float(text)
    except ValueError:
        return text


def _date(text: Any) -> Any:
    if not isinstance(text, str) or not text.strip():
        return None if text == "" else text
    text = text.strip()
    if text.isdigit():
        return (EPOCH + timedelta(milliseconds=int(text))).date().isoformat()
    try:
        return date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        return text


def _first_sight() -> Callable[[dict], bool]:
    """A filter step: a record comes once per run. A new search window starts at the newest
    millisecond of the last one, so the records of that millisecond come again, identical; a
    record changed in between comes again with a newer `updatedAt` and is kept."""
    seen: set[tuple[str, str]] = set()

    def first(record: dict) -> bool:
        key = (record["id"], record["updatedAt"])
        if key in seen:
            return False
        seen.add(key)
        return True

    return first


class SearchWindows(JSONResponseCursorPaginator):
    """HubSpot's search cursor, and a fresh search from the newest `hs_lastmodifieddate` seen
    whenever the next page would pass `result_limit`.

    The request body is the resource's search, its first filter the `hs_lastmodifieddate GTE`
    the window starts from (milliseconds). Results come sorted by that property, so everything
    before the newest millisecond seen is read; that millisecond is read again in full.
    """

    def __init__(self, page_size: int, result_limit: int):
        super().__init__(cursor_path="paging.next.after", cursor_body_path="after")
        self.page_size, self.result_limit = page_size, result_limit
        self._read_in_window = 0
        self._newest: datetime | None = None
        self._window_from: str | None = None

    def update_state(self, response: requests.Response, data: list[Any] | None = None) -> None:
        super().update_state(response, data)
        records = data or []
        self._read_in_window += len(records)
        for record in records:
            at = _instant(record.get("updatedAt"))
            if at is not None and (self._newest is None or at > self._newest):
                self._newest = at
        if self._next_reference is None:
            return
        if self._read_in_window + self.page_size > self.result_limit:
            self._next_reference = "new window"

    def update_request(self, request) -> None:
        if self._next_reference != "new window":
            super().update_request(request)
            return
        since = _millis(self._newest) if self._newest else None
        if since is None or since == self._window_from:
            raise SearchWindowStuck(self.result_limit, since)
        request.json["filterGroups"][0]["filters"][0]["value"] = since
        request.json.pop("after", None)
        self._window_from, self._read_in_window = since, 0


class SearchWindowStuck(RuntimeError):
    """More records share one millisecond of `hs_lastmodifieddate` than a search returns."""

    def __init__(self, result_limit: int, since: str | None):
        super().__init__(
            f"hubspot: more than {result_limit} records were modified in the millisecond "
            f"{since}; a search cannot page past them. Load this object type in smaller "
            f"pieces (a filter on hs_object_id) or ask HubSpot for an export."
        )


def _instant(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _searched(
    object_type: str, properties: dict[str, str], page_size: int, result_limit: int
) -> dict:
    """Records changed since the cursor, through the search endpoint, in windows."""
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
                "properties": list(properties),
                "limit": page_size,
            },
            "paginator": SearchWindows(page_size, result_limit),
            "data_selector": "results",
            "incremental": {
                "cursor_path": "updatedAt",
                "initial_value": INITIAL_CURSOR,
                "convert": epoch_ms,
            },
        },
        # a merge keeps the newest of a record read twice in one run (changed between windows)
        "columns": _columns(properties, updatedAt={"data_type": "timestamp", "dedup_sort": "desc"}),
        "processing_steps": [
            {"filter": _first_sight()},
            # the cursor compares what it sees: instants in one fixed-width form, not
            # `…:00Z` against `…:00.250Z` as text
            {"map": in_utc("updatedAt")},
            {"map": _typed(properties)},
        ],
    }


def _associated_ids(record: dict, object_type: str) -> list[str]:
    """The ids a record is associated with, each once however many types list it."""
    results = (record.get("associations") or {}).get(object_type, {}).get("results", [])
    return list(dict.fromkeys(str(result["id"]) for result in results))


def _with_deal_id(record: dict) -> dict:
    """The one deal a line item or contract belongs to, as a column instead of a nested list."""
    deals = _associated_ids(record, "deals")
    record.pop("associations", None)
    record["deal_id"] = deals[0] if deals else None
    return record


def _listed_with_deal(
    name: str, object_type: str, properties: dict[str, str], page_size: int
) -> dict:
    """Every record, each with its deal's id (search cannot return associations)."""
    return {
        "name": name,
        "endpoint": {
            "path": f"crm/v3/objects/{object_type}",
            "params": {
                "limit": page_size,
                "properties": ",".join(properties),
                "associations": "deals",
            },
            "paginator": JSONResponseCursorPaginator(
                cursor_path="paging.next.after", cursor_param="after"
            ),
            "data_selector": "results",
        },
        "columns": _columns(properties, deal_id={"data_type": "text"}),
        "processing_steps": [{"map": _with_deal_id}, {"map": _typed(properties)}],
    }


def _deal_company_pairs(deal: dict) -> Iterator[dict]:
    """One row per company a deal is associated with (HubSpot allows several), however many
    association types list the pair; the type kept is the labelled one (`deal_to_company`,
    the primary) where there is one."""
    results = (deal.get("associations") or {}).get("companies", {}).get("results", [])
    types: dict[str, str | None] = {}
    for company in results:
        kind, known = company.get("type"), types.get(str(company["id"]))
        if known is None or (known.endswith("_unlabeled") and kind):
            types[str(company["id"])] = kind
    for company_id, kind in types.items():
        yield {"deal_id": deal["id"], "company_id": company_id, "type": kind}


def _deal_companies(page_size: int) -> dict:
    """Every deal's companies, listed whole like line items (search cannot return them)."""
    return {
        "name": "deal_companies",
        "primary_key": ["deal_id", "company_id"],
        "endpoint": {
            "path": "crm/v3/objects/deals",
            "params": {
                "limit": page_size,
                "properties": "hs_lastmodifieddate",
                "associations": "companies",
            },
            "paginator": JSONResponseCursorPaginator(
                cursor_path="paging.next.after", cursor_param="after"
            ),
            "data_selector": "results",
        },
        "records_of_page": _deal_company_pairs,
        "columns": {
            "deal_id": {"data_type": "text"},
            "company_id": {"data_type": "text"},
            "type": {"data_type": "text"},
        },
    }


@dlt.source(name="hubspot")
def hubspot_source(
    base_url: str = dlt.config.value,
    access_token: str = dlt.secrets.value,
    contracts_object: str = CONTRACTS_OBJECT,
    page_format: PageFormat = "arrow",
    stats: IngestStats | None = None,
    page_size: int = PAGE_SIZE,
    search_result_limit: int = SEARCH_RESULT_LIMIT,
):
    """Yields `deals`, `companies`, `line_items` and `p_contracts` (the custom object named by
    `contracts_object`), one row per record, the properties flattened to `properties__<name>`
    and typed (amounts DECIMAL, dates DATE, timestamps UTC), and `deal_companies`, one row per
    deal and company associated (`deal_id`, `company_id`, `type`)."""
    config: RESTAPIConfig = {
        "client": {
            "base_url": base_url.rstrip("/") + "/",
            "auth": {"type": "bearer", "token": access_token},
        },
        "resource_defaults": {"write_disposition": "merge", "primary_key": "id"},
        "resources": [
            _searched("deals", DEAL_PROPERTIES, page_size, search_result_limit),
            _searched("companies", COMPANY_PROPERTIES, page_size, search_result_limit),
            _listed_with_deal("line_items", "line_items", LINE_ITEM_PROPERTIES, page_size),
            _listed_with_deal("p_contracts", contracts_object, CONTRACT_PROPERTIES, page_size),
            _deal_companies(page_size),
        ],
    }
    yield from landed_resources(config, "hubspot", RULES, stats, page_format)


# What each object type needs of the private app, in HubSpot's words
SCOPES = {
    "deals": "crm.objects.deals.read",
    "companies": "crm.objects.companies.read",
    "line_items": "crm.objects.line_items.read",
    "contracts": "crm.objects.custom.read",
}


def properties_are_text(response: requests.Response) -> str | None:
    """A list answer the connector reads: `results`, each with an `id` and `properties` whose
    values are all text or null (HubSpot's), and `updatedAt`."""
    problem = json_with("results")(response)
    if problem:
        return problem
    for record in response.json()["results"]:
        if not isinstance(record, dict) or not {"id", "properties", "updatedAt"} <= set(record):
            return "a result lacks id, properties or updatedAt"
        odd = [k for k, v in record["properties"].items() if v is not None and type(v) is not str]
        if odd:
            return f"properties {odd} are not text, as HubSpot sends every property"
    return None


def probes(endpoint: SourceEndpoint) -> SourceProbes:
    """One record of each object type the source reads, listed as it lists them, and the two it
    searches searched with the filter it sends (milliseconds)."""
    contracts = dlt.config.get("sources.hubspot.contracts_object") or CONTRACTS_OBJECT
    paths = {"deals": "deals", "companies": "companies", "line_items": "line_items"}
    paths["contracts"] = contracts
    listed = tuple(
        Probe(
            name.replace("_", " ") + ("" if name != "contracts" else f" ({contracts})"),
            "GET",
            f"crm/v3/objects/{path}",
            properties_are_text,
            params={"limit": 1, "associations": "deals" if name != "deals" else "companies"},
            permission=f"the private app's scope {SCOPES[name]}",
        )
        for name, path in paths.items()
    )
    searched = tuple(
        Probe(
            f"{name} search",
            "POST",
            f"crm/v3/objects/{name}/search",
            json_with("total", "results"),
            json={
                "filterGroups": [
                    {
                        "filters": [
                            {
                                "propertyName": "hs_lastmodifieddate",
                                "operator": "GTE",
                                "value": epoch_ms(INITIAL_CURSOR),
                            }
                        ]
                    }
                ],
                "limit": 1,
                "properties": ["hs_lastmodifieddate"],
            },
            permission=f"the private app's scope {SCOPES[name]}",
        )
        for name in ("deals", "companies")
    )
    return SourceProbes(
        base_url=endpoint.base_url.rstrip("/") + "/",
        auth=BearerTokenAuth(endpoint.access_token),
        headers={},
        probes=(*listed, *searched),
        settings_hint=(
            "SOURCES__HUBSPOT__BASE_URL, SOURCES__HUBSPOT__ACCESS_TOKEN (a private app token), "
            "SOURCES__HUBSPOT__CONTRACTS_OBJECT"
        ),
    )
