"""HubSpot CRM v3 dialect: companies, deals, line items and contracts, listed or searched.

The CRM holds what sales agreed with each client: the `companies`, their `deals`, each deal's
`line_items` (the quote) and `p_contracts`, a custom object with one record per signed SOW
version (an amendment is a new version; the one it replaces becomes `superseded`). Each type is
a row of `OBJECT_TYPES`, read from its own store table, and served at
`GET /crm/v3/objects/{type}` and `POST /crm/v3/objects/{type}/search`.

Paging is HubSpot's cursor: `limit` (max 100) and `after`, with `paging.next.after` (and `link`)
on every page but the last; search takes the same cursor in its JSON body. Records come in id
order, or by `hs_lastmodifieddate` then id when a search sorts, so a page boundary never moves.
Every property value is a string, as HubSpot sends them (amounts and integers included); null
stays null. `createdAt` / `updatedAt` sit beside them.

The store keeps associations as a foreign-key column (a deal's `company_id`, a line item's or a
contract's `deal_id`). Those columns are not properties: a list asked for `associations=` gets
them, in either direction, as HubSpot's `associations` map; a type with none is left out of the
map, as HubSpot does. Nothing in the sandbox is ever archived, so `archived=true` lists nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from psa_pipeline.sandbox.auth import require_bearer

MAX_LIMIT = 100
AFTER = r"^\d{1,9}$"  # HubSpot's cursor; a filtered search stops at 10,000 results anyway

router = APIRouter(prefix="/hubspot/crm/v3/objects", dependencies=[Depends(require_bearer)])


@dataclass(frozen=True)
class ObjectType:
    singular: str  # in association type names: deal_to_company
    table: str
    # associated type -> this table's column holding its id; the reverse direction is derived
    references: dict[str, str] = field(default_factory=dict)


OBJECT_TYPES = {
    "companies": ObjectType("company", "hubspot_companies"),
    "deals": ObjectType("deal", "hubspot_deals", {"companies": "company_id"}),
    "line_items": ObjectType("line_item", "hubspot_line_items", {"deals": "deal_id"}),
    "p_contracts": ObjectType("p_contract", "hubspot_contracts", {"deals": "deal_id"}),
}
# The path takes only these, so OpenAPI lists them and another type is a 422 that names them.
ObjectTypeName = Literal[tuple(OBJECT_TYPES)]


@dataclass(frozen=True)
class Association:
    """How to find associated ids: `select source, target from table where source in (...)`."""

    type: str
    table: str
    source: str
    target: str


def _associations() -> dict[str, dict[str, Association]]:
    """Per object type, every type it associates with: its own references and their reverses."""
    found: dict[str, dict[str, Association]] = {name: {} for name in OBJECT_TYPES}
    for name, kind in OBJECT_TYPES.items():
        for other, column in kind.references.items():
            to, back = OBJECT_TYPES[other].singular, kind.singular
            found[name][other] = Association(f"{back}_to_{to}", kind.table, "id", column)
            found[other][name] = Association(f"{to}_to_{back}", kind.table, column, "id")
    return found


ASSOCIATIONS = _associations()


class SearchFilter(BaseModel):
    propertyName: Literal["hs_lastmodifieddate"]
    operator: Literal["GTE", "GT", "LTE", "LT", "EQ"]
    value: str


class FilterGroup(BaseModel):
    filters: list[SearchFilter] = Field(default_factory=list, max_length=6)


class Sort(BaseModel):
    propertyName: Literal["hs_lastmodifieddate"]
    direction: Literal["ASCENDING", "DESCENDING"] = "ASCENDING"


class SearchRequest(BaseModel):
    filterGroups: list[FilterGroup] = Field(default_factory=list, max_length=5)
    sorts: list[Sort] = Field(default_factory=list, max_length=1)
    properties: list[str] = Field(default_factory=list)
    limit: int = Field(default=10, ge=1, le=MAX_LIMIT)
    after: str = Field(default="0", pattern=AFTER)


_OPERATORS = {"GTE": ">=", "GT": ">", "LTE": "<=", "LT": "<", "EQ": "="}


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _record(kind: ObjectType, row, properties: list[str]) -> dict:
    """Every stored property (the store's columns) unless `properties` names fewer."""
    hidden = {"id", *kind.references.values()}
    known = [name for name in row.keys() if name not in hidden]
    wanted = [name for name in properties if name in known] if properties else known
    return {
        "id": str(row["id"]),
        "properties": {name: _text(row[name]) for name in wanted}
        | {"hs_object_id": str(row["id"])},
        "createdAt": row["createdate"],
        "updatedAt": row["hs_lastmodifieddate"],
        "archived": False,
    }


def _wanted_associations(object_type: str, associations: str) -> dict[str, Association]:
    known = ASSOCIATIONS[object_type]
    names = [name.strip() for name in associations.split(",") if name.strip()]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise HTTPException(
            400,
            f"{object_type} have no association with {', '.join(unknown)}; "
            f"known: {', '.join(known) or 'none'}",
        )
    return {name: known[name] for name in names}


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
            found.setdefault(str(source), []).append({"id": str(target), "type": link.type})
        for record in records:
            if record["id"] in found:
                associations = record.setdefault("associations", {})
                associations[name] = {"results": found[record["id"]]}


def _page(
    request: Request,
    object_type: str,
    where: str,
    params: list,
    order: str,
    limit: int,
    after: int,
    properties: list[str],
    associations: dict[str, Association] | None = None,
) -> dict:
    kind = OBJECT_TYPES[object_type]
    with request.app.state.store.snapshot() as conn:
        total = conn.execute(f"select count(*) from {kind.table} {where}", params).fetchone()[0]
        rows = conn.execute(
            f"select * from {kind.table} {where} order by {order} limit ? offset ?",
            [*params, limit, after],
        ).fetchall()
        results = [_record(kind, row, properties) for row in rows]
        if results and associations:
            _associate(conn, results, associations)
    body = {"total": total, "results": results}
    if after + limit < total:
        after_next = str(after + limit)
        link = str(request.url.include_query_params(after=after_next))
        body["paging"] = {"next": {"after": after_next, "link": link}}
    return body


@router.get("/{object_type}")
def list_objects(
    request: Request,
    object_type: ObjectTypeName,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 10,
    after: Annotated[str, Query(pattern=AFTER)] = "0",
    properties: Annotated[str, Query()] = "",
    associations: Annotated[str, Query()] = "",
    archived: Annotated[bool, Query()] = False,
) -> dict:
    """A page of records by id; `properties` and `associations` are comma lists.

    `archived=true` lists only archived records, and the sandbox never archives any.
    """
    wanted = _wanted_associations(object_type, associations)
    where = "where false" if archived else ""
    fields = [p for p in properties.split(",") if p]
    return _page(request, object_type, where, [], "id", limit, int(after), fields, wanted)


@router.post("/{object_type}/search")
def search_objects(request: Request, object_type: ObjectTypeName, search: SearchRequest) -> dict:
    """Filter groups are ORed, filters inside a group ANDed, as in HubSpot."""
    groups, params = [], []
    for group in search.filterGroups:
        clauses = []
        for f in group.filters:
            clauses.append(f"hs_lastmodifieddate {_OPERATORS[f.operator]} ?")
            params.append(f.value)
        if clauses:
            groups.append("(" + " and ".join(clauses) + ")")
    where = f"where {' or '.join(groups)}" if groups else ""
    direction = "desc" if search.sorts and search.sorts[0].direction == "DESCENDING" else "asc"
    order = f"hs_lastmodifieddate {direction}, id {direction}"
    return _page(
        request,
        object_type,
        where,
        params,
        order,
        search.limit,
        int(search.after),
        search.properties,
    )
