"""HubSpot CRM v3 dialect: companies, deals, line items and contracts, listed or searched.

The CRM holds what sales agreed with each client: the `companies`, their `deals`, each deal's
`line_items` (the quote) and the contracts, a custom object with one record per signed SOW
version (an amendment is a new version; the one it replaces becomes `superseded`). Each type is
a row of `OBJECT_TYPES`, read from its own store table, and served at
`GET /crm/v3/objects/{type}` and `POST /crm/v3/objects/{type}/search`. What HubSpot serves, and
where it says so (the connector, psa_pipeline/sources/hubspot.py, names the same sources):

- A type is named as HubSpot names it: `deals`, or its objectTypeId `0-3` (HubSpot's OpenAPI
  specs, HubSpot/HubSpot-public-api-spec-collection PublicApiSpecs/CRM/*/v3, address standard
  objects as `0-2`, `0-3`, `0-8`). The custom object answers to its objectTypeId
  (`2-<id>`), its fully qualified name (`p<portalId>_contracts`) and the short `p_contracts`
  (the schema example of developers.hubspot.com/docs/api-reference/crm-schemas-v3; the short
  form as singer-io/tap-hubspot uses it: `/crm/v3/objects/p_{object_name}`).
- A record is `id` (a string), `properties`, `createdAt`, `updatedAt`, `archived`. EVERY
  property value is a string or null (`"amount": "500"`, `"closedate": null`: dlt-hub
  verified-sources tests/hubspot/mock_data.py). Timestamps are Java `Instant` text: UTC with
  `Z`, milliseconds only when there are any (`2023-02-24T03:00:26.696Z`, and
  `2023-01-15T05:00:00Z` in the same fixture). `properties=` asks for fields; a name the type
  does not have is ignored, one it has but the record leaves empty comes back null, and
  `hs_object_id`, the creation date and `hs_lastmodifieddate` always come (hubspot-api-ruby
  issue 262). Without `properties=` a type's default set comes. A custom object's creation
  date property is `hs_createdate`.
- Paging: `limit` (max 100 on lists, 200 on search: the spec's PublicObjectSearchRequest says
  "up to 200") and `after`; `paging.next.after` (and on lists an absolute `link`) on every page
  but the last. `after` is opaque to clients; here it is an offset.
- Search (`POST …/search`) returns `{total, results, paging}` (the spec's
  CollectionResponseWithTotal…), never associations. Filters on a date property take UNIX
  milliseconds (developers.hubspot.com/docs/faq/how-should-timestamps-be-formatted-for-hubspots-
  apis); ISO 8601 text is taken too (estuary/connectors source-hubspot-native sends it) and
  both are compared as instants. A search pages to at most 10,000 results: a page reaching past
  that is a 400 (the search guide's Limitations; Airbyte PR 10700's log). The limit is the store
  knob `hubspot_search_result_limit` (firm_meta), so a test can meet it with a small firm.
- Associations (`associations=` on lists): `{"companies": {"results": [{"id", "type"}]}}`; a
  pair is listed once per association type, and the primary company of a deal comes twice,
  `deal_to_company` and `deal_to_company_unlabeled` (hubspot-api-ruby issue 262, Airbyte issue
  30292); some line items and contracts carry a labelled association to their deal beside the
  unlabelled one. An association type a record has none of is left out of the map, and one
  the object type does not know is ignored (the spec: "If any of the specified associations do
  not exist, they will be ignored").
- Errors are HubSpot's JSON (`status`, `message`, `correlationId`, `category`): 401
  INVALID_AUTHENTICATION for a missing or unknown token (hubspot-api-python issue 211),
  403 MISSING_SCOPES with `errors[].context.requiredGranularScopes` when the private app lacks
  the object's read scope (estuary/connectors tests/test_missing_scope_error.py), 400
  VALIDATION_ERROR for a request HubSpot would refuse, and 429 RATE_LIMIT with
  `X-HubSpot-RateLimit-*` headers and no Retry-After when throttled (`fault_answer`; the body
  from HGData/mk-node-hubspot issues 84 and 89, the headers from HubSpot's changelog of
  2018-11-06 "rate limit information headers").

The store keeps associations as a foreign-key column (a deal's `company_id`, a line item's or a
contract's `deal_id`); a list asked for `associations=` gets them, in either direction. Nothing
in the sandbox is ever archived, so `archived=true` lists nothing.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field, field_validator

from psa_pipeline.sandbox.auth import lacks

MAX_LIMIT = 100
MAX_SEARCH_LIMIT = 200
SEARCH_RESULT_LIMIT = 10_000  # HubSpot's; the store's firm_meta may lower it for a test
PORTAL_ID = 4_620_001  # the sandbox firm's HubSpot account
CONTRACTS_TYPE_ID = "2-7140311"  # its objectTypeId in that account
CONTRACTS = "p_contracts"  # the short name the sandbox (and the connector's default) uses
RATE_LIMIT_PER_10_S = 100  # a private app's burst limit, echoed in the 429's headers


class HubSpotError(Exception):
    """An error answered as HubSpot answers it: its JSON body, its status."""

    def __init__(self, status: int, category: str, message: str, **extra: Any):
        super().__init__(message)
        self.status, self.category, self.message, self.extra = status, category, message, extra

    def body(self) -> dict:
        return {
            "status": "error",
            "message": self.message,
            "correlationId": str(uuid.uuid4()),
            **self.extra,
            "category": self.category,
        }

    def response(self) -> Response:
        headers = {"X-HubSpot-Correlation-Id": str(uuid.uuid4())}
        if self.status == 401:
            headers["X-HubSpot-Auth-Failure"] = "401 Unauthorized"
        return JSONResponse(self.body(), self.status, headers=headers)


class HubSpotRoute(APIRoute):
    """Every error of these routes (credential, scope, validation) in HubSpot's body."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except HubSpotError as error:
                return error.response()
            except RequestValidationError as error:
                problems = "; ".join(
                    f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in error.errors()
                )
                return HubSpotError(
                    400, "VALIDATION_ERROR", f"Invalid input: {problems}"
                ).response()

        return answer


def require_private_app_token(request: Request) -> None:
    """HubSpot says 401 both without a token and with one it does not know."""
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or presented != request.app.state.token:
        raise HubSpotError(
            401,
            "INVALID_AUTHENTICATION",
            "Authentication credentials not found. This API supports OAuth 2.0 authentication "
            "and you can find more details at "
            "https://developers.hubspot.com/docs/methods/auth/oauth-overview",
        )


router = APIRouter(
    prefix="/hubspot/crm/v3/objects",
    route_class=HubSpotRoute,
    dependencies=[Depends(require_private_app_token)],
)


@dataclass(frozen=True)
class ObjectType:
    singular: str  # in association type names: deal_to_company
    table: str
    scope: str  # the private app scope that reads it
    aliases: tuple[str, ...]  # the other names HubSpot takes in the path
    created: str = "createdate"  # the creation date property
    defaults: tuple[str, ...] = ()  # what a read without `properties=` returns
    # associated type -> this table's column holding its id; the reverse direction is derived
    references: dict[str, str] = field(default_factory=dict)


OBJECT_TYPES = {
    "companies": ObjectType(
        "company",
        "hubspot_companies",
        "crm.objects.companies.read",
        ("0-2", "company"),
        defaults=("name", "domain"),
    ),
    "deals": ObjectType(
        "deal",
        "hubspot_deals",
        "crm.objects.deals.read",
        ("0-3", "deal"),
        defaults=("dealname", "amount", "closedate", "pipeline", "dealstage"),
        references={"companies": "company_id"},
    ),
    "line_items": ObjectType(
        "line_item",
        "hubspot_line_items",
        "crm.objects.line_items.read",
        ("0-8", "line_item"),
        defaults=("name", "price", "quantity", "amount"),
        references={"deals": "deal_id"},
    ),
    CONTRACTS: ObjectType(
        "contracts",
        "hubspot_contracts",
        "crm.objects.custom.read",
        (CONTRACTS_TYPE_ID, f"p{PORTAL_ID}_contracts"),
        created="hs_createdate",
        references={"deals": "deal_id"},
    ),
}
NAMES = {alias: name for name, kind in OBJECT_TYPES.items() for alias in (name, *kind.aliases)}


def object_type(name: str) -> str:
    """The canonical name of a type given any name HubSpot takes for it."""
    if name.lower() not in NAMES:
        raise HubSpotError(400, "VALIDATION_ERROR", f"Unable to infer object type from: {name}")
    return NAMES[name.lower()]


@dataclass(frozen=True)
class Association:
    """How to find associated ids: `select source, target from table where source in (...)`,
    and which pairs are listed a second time under the unlabelled type."""

    type: str
    table: str
    source: str
    target: str
    twice: Callable[[int, int], bool]  # (source id, target id) -> also listed unlabelled


def _labelled_twice(kind: ObjectType, other: str) -> Callable[[int, int], bool]:
    """A deal's company is its primary one, which HubSpot lists under both types; a line item
    or a contract carries a label to its deal now and then (when its id is even)."""
    if kind.singular == "deal" and other == "companies":
        return lambda source, target: True
    return lambda source, target: min(source, target) % 2 == 0


def _associations() -> dict[str, dict[str, Association]]:
    """Per object type, every type it associates with: its own references and their reverses."""
    found: dict[str, dict[str, Association]] = {name: {} for name in OBJECT_TYPES}
    for name, kind in OBJECT_TYPES.items():
        for other, column in kind.references.items():
            to, back = OBJECT_TYPES[other].singular, kind.singular
            twice = _labelled_twice(kind, other)
            found[name][other] = Association(f"{back}_to_{to}", kind.table, "id", column, twice)
            found[other][name] = Association(
                f"{to}_to_{back}", kind.table, column, "id", lambda s, t, twice=twice: twice(t, s)
            )
    return found


ASSOCIATIONS = _associations()


# ------------------------------------------------------------------------ instants and filters


def epoch_ms(text: str | None) -> int | None:
    """An ISO 8601 timestamp (any offset, any fraction) as UNIX milliseconds."""
    if text is None:
        return None
    at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return (at - datetime(1970, 1, 1, tzinfo=UTC)) // _MILLISECOND


_MILLISECOND = datetime(1970, 1, 1, 0, 0, 0, 1000, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)


def filter_instant(value: str | int | float) -> int:
    """What a date filter's value means, in UNIX milliseconds: HubSpot documents milliseconds
    (a number or its text); an ISO 8601 date or date-time is taken as well."""
    if isinstance(value, int | float) or str(value).strip().lstrip("-").isdigit():
        return int(value)
    text = str(value).strip()
    if len(text) == 10:
        return epoch_ms(date.fromisoformat(text).isoformat() + "T00:00:00Z") or 0
    return epoch_ms(text) or 0


# the properties a search may filter or sort on: the date ones compare as instants
DATE_PROPERTIES = {"hs_lastmodifieddate", "createdate", "hs_createdate"}
SEARCHABLE = (*DATE_PROPERTIES, "hs_object_id")
_OPERATORS = {"GTE": ">=", "GT": ">", "LTE": "<=", "LT": "<", "EQ": "=", "NEQ": "!="}


class SearchFilter(BaseModel):
    propertyName: str
    operator: Literal["GTE", "GT", "LTE", "LT", "EQ", "NEQ", "BETWEEN"]
    value: str | int | float
    highValue: str | int | float | None = None

    @field_validator("propertyName")
    @classmethod
    def searchable(cls, name: str) -> str:
        if name not in SEARCHABLE:
            raise ValueError(f"the sandbox filters only on {', '.join(sorted(SEARCHABLE))}")
        return name


class FilterGroup(BaseModel):
    filters: list[SearchFilter] = Field(default_factory=list, max_length=6)


class Sort(BaseModel):
    propertyName: str
    direction: Literal["ASCENDING", "DESCENDING"] = "ASCENDING"


class SearchRequest(BaseModel):
    filterGroups: list[FilterGroup] = Field(default_factory=list, max_length=5)
    # objects, or property names as the SDK's model types them (`sorts: list[str]`)
    sorts: list[Sort | str] = Field(default_factory=list, max_length=1)
    properties: list[str] = Field(default_factory=list)
    limit: int = Field(default=10, ge=1, le=MAX_SEARCH_LIMIT)
    after: str | int = "0"


def _column(kind: ObjectType, name: str) -> str:
    """A searchable property as the store column (and SQL) that holds it."""
    if name == "hs_object_id":
        return "id"
    column = kind.created if name in ("createdate", "hs_createdate") else name
    return f"epoch_ms({column})"


def _where(kind: ObjectType, groups: list[FilterGroup]) -> tuple[str, list]:
    """Filter groups are ORed, the filters of a group ANDed, as in HubSpot."""
    clauses, params = [], []
    for group in groups:
        ands = []
        for f in group.filters:
            column = _column(kind, f.propertyName)
            value = _operand(f.propertyName, f.value)
            if f.operator == "BETWEEN":
                if f.highValue is None:
                    raise HubSpotError(400, "VALIDATION_ERROR", "BETWEEN needs a highValue")
                ands.append(f"{column} between ? and ?")
                params += [value, _operand(f.propertyName, f.highValue)]
            else:
                ands.append(f"{column} {_OPERATORS[f.operator]} ?")
                params.append(value)
        if ands:
            clauses.append("(" + " and ".join(ands) + ")")
    return (f"where {' or '.join(clauses)}" if clauses else ""), params


def _operand(name: str, value: str | int | float) -> int:
    try:
        return filter_instant(value) if name in DATE_PROPERTIES else int(value)
    except ValueError as error:
        raise HubSpotError(
            400, "VALIDATION_ERROR", f"{value!r} is not a valid value for {name}: {error}"
        ) from error


def _order(kind: ObjectType, sorts: list[Sort | str]) -> str:
    if not sorts:
        return "id"
    sort = sorts[0] if isinstance(sorts[0], Sort) else Sort(propertyName=sorts[0])
    if sort.propertyName not in SEARCHABLE:
        raise HubSpotError(400, "VALIDATION_ERROR", f"cannot sort on {sort.propertyName}")
    direction = "desc" if sort.direction == "DESCENDING" else "asc"
    return f"{_column(kind, sort.propertyName)} {direction}, id {direction}"


# ------------------------------------------------------------------------ records and pages


def _record(kind: ObjectType, row, properties: list[str]) -> dict:
    """A store row as HubSpot serves it: the properties asked for (or the type's defaults) as
    text, null where the record has none, and the three HubSpot always adds."""
    hidden = {"id", *kind.references.values()}
    known = [name for name in row.keys() if name not in hidden]
    wanted = [name for name in properties if name in known] if properties else kind.defaults
    always = {
        kind.created: row[kind.created],
        "hs_lastmodifieddate": row["hs_lastmodifieddate"],
        "hs_object_id": str(row["id"]),
    }
    return {
        "id": str(row["id"]),
        "properties": {name: _text(row[name]) for name in wanted} | always,
        "createdAt": row[kind.created],
        "updatedAt": row["hs_lastmodifieddate"],
        "archived": False,
    }


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _names(values: list[str]) -> list[str]:
    """Names given as comma lists, repeated parameters, or both."""
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def _wanted_associations(name: str, asked: list[str]) -> dict[str, Association]:
    """The associations asked for that the type has: HubSpot ignores the others."""
    known = ASSOCIATIONS[name]
    return {other: known[NAMES[other]] for other in asked if NAMES.get(other) in known}


def _associate(conn, records: list[dict], wanted: dict[str, Association]) -> None:
    """One query per associated type for the whole page, never one per record."""
    ids = [int(record["id"]) for record in records]
    marks = ", ".join("?" for _ in ids)
    for name, link in wanted.items():
        found: dict[str, list[dict]] = {}
        for source, target in conn.execute(
            f"select {link.source}, {link.target} from {link.table} "
            f"where {link.source} in ({marks}) order by {link.target}",
            ids,
        ):
            listed = found.setdefault(str(source), [])
            listed.append({"id": str(target), "type": link.type})
            if link.twice(source, target):
                listed.append({"id": str(target), "type": f"{link.type}_unlabeled"})
        for record in records:
            if record["id"] in found:
                associations = record.setdefault("associations", {})
                associations[name] = {"results": found[record["id"]]}


def _offset(after: str | int) -> int:
    if not str(after).isdigit() or len(str(after)) > 9:
        raise HubSpotError(400, "VALIDATION_ERROR", f"{after!r} is not a valid paging cursor")
    return int(after)


def _guarded(request: Request, name: str) -> ObjectType:
    """The type, once the credential may read it (403 MISSING_SCOPES otherwise)."""
    kind = OBJECT_TYPES[name]
    if lacks(request, "hubspot", kind.scope):
        raise HubSpotError(
            403,
            "MISSING_SCOPES",
            "This app hasn't been granted all required scopes to make this call. Read more "
            "about required scopes here: https://developers.hubspot.com/scopes.",
            errors=[
                {
                    "message": "One or more of the following scopes are required.",
                    "context": {"requiredGranularScopes": [kind.scope]},
                }
            ],
            links={"scopes": "https://developers.hubspot.com/scopes"},
        )
    return kind


def _rows(conn, kind: ObjectType, where: str, params: list, order: str, limit: int, after: int):
    total = conn.execute(f"select count(*) from {kind.table} {where}", params).fetchone()[0]
    rows = conn.execute(
        f"select * from {kind.table} {where} order by {order} limit ? offset ?",
        [*params, limit, after],
    ).fetchall()
    return total, rows


@contextmanager
def _store(request: Request) -> Iterator[sqlite3.Connection]:
    """A snapshot of the store that compares HubSpot's timestamps as instants (`epoch_ms`)."""
    with request.app.state.store.snapshot() as conn:
        conn.create_function("epoch_ms", 1, epoch_ms, deterministic=True)
        yield conn


@router.get("/{object_type_name}")
def list_objects(
    request: Request,
    object_type_name: str,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 10,
    after: Annotated[str, Query()] = "0",
    properties: Annotated[list[str], Query()] = [],  # noqa: B006 (FastAPI copies defaults)
    associations: Annotated[list[str], Query()] = [],  # noqa: B006
    archived: Annotated[bool, Query()] = False,
) -> dict:
    """A page of records by id. `properties` and `associations` are comma lists, or the
    parameter repeated (`properties=a&properties=b`, as HubSpot's SDKs send them).

    `archived=true` lists only archived records, and the sandbox never archives any.
    """
    name = object_type(object_type_name)
    kind = _guarded(request, name)
    wanted = _wanted_associations(name, _names(associations))
    offset, fields = _offset(after), _names(properties)
    with _store(request) as conn:
        where = "where false" if archived else ""
        total, rows = _rows(conn, kind, where, [], "id", limit, offset)
        results = [_record(kind, row, fields) for row in rows]
        if results and wanted:
            _associate(conn, results, wanted)
    body: dict = {"results": results}
    if offset + limit < total:
        after_next = str(offset + limit)
        link = str(request.url.include_query_params(after=after_next))
        body["paging"] = {"next": {"after": after_next, "link": link}}
    return body


@router.post("/{object_type_name}/search")
def search_objects(request: Request, object_type_name: str, search: SearchRequest) -> dict:
    """Records matching the filters, sorted, `limit` at a time, never past the result limit."""
    kind = _guarded(request, object_type(object_type_name))
    offset = _offset(search.after)
    with _store(request) as conn:
        cap = _search_result_limit(conn)
        if offset + search.limit > cap:
            raise HubSpotError(
                400,
                "VALIDATION_ERROR",
                f"There was a problem with the request: a search returns at most {cap} "
                f"results; after={offset} with limit={search.limit} pages beyond them. Narrow "
                "the filters (a later hs_lastmodifieddate) and search again.",
            )
        where, params = _where(kind, search.filterGroups)
        total, rows = _rows(
            conn, kind, where, params, _order(kind, search.sorts), search.limit, offset
        )
    body: dict = {"total": total, "results": [_record(kind, r, search.properties) for r in rows]}
    if offset + search.limit < total:
        body["paging"] = {"next": {"after": str(offset + search.limit)}}
    return body


def _search_result_limit(conn) -> int:
    row = conn.execute(
        "select value from firm_meta where key = 'hubspot_search_result_limit'"
    ).fetchone()
    return int(row[0]) if row else SEARCH_RESULT_LIMIT


def fault_answer(status: int) -> tuple[bytes, list[tuple[bytes, bytes]]] | None:
    """How HubSpot throttles: its RATE_LIMIT body and X-HubSpot-RateLimit-* headers, and no
    Retry-After (the client waits out the interval). Other faults keep the generic answer."""
    if status != 429:
        return None
    body = {
        "status": "error",
        "message": "You have reached your ten_secondly_rolling limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": str(uuid.uuid4()),
        "policyName": "TEN_SECONDLY_ROLLING",
        "groupName": f"publicapi:private-app:{PORTAL_ID}",
    }
    headers = {
        "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
        "X-HubSpot-RateLimit-Max": str(RATE_LIMIT_PER_10_S),
        "X-HubSpot-RateLimit-Remaining": "0",
        "X-HubSpot-RateLimit-Daily": "500000",
        "X-HubSpot-RateLimit-Daily-Remaining": "431208",
    }
    return json.dumps(body).encode(), [(k.lower().encode(), v.encode()) for k, v in headers.items()]
