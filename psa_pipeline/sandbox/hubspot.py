"""HubSpot CRM v3 dialect: deals, listed or searched by last-modified date.

Paging is HubSpot's cursor: `limit` (max 100) and `after`, with `paging.next.after` on every
page but the last. Search takes the same cursor in its JSON body. Properties come back as
strings, as HubSpot sends them (amounts included), with `createdAt` / `updatedAt` beside them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from psa_pipeline.sandbox.auth import require_bearer

MAX_LIMIT = 100
AFTER = r"^\d{1,9}$"  # HubSpot's cursor; a filtered search stops at 10,000 results anyway

router = APIRouter(prefix="/hubspot/crm/v3/objects", dependencies=[Depends(require_bearer)])


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


def _deal(row, properties: list[str]) -> dict:
    """Every stored property (the store's columns) unless `properties` names fewer."""
    known = [name for name in row.keys() if name != "id"]
    wanted = [name for name in properties if name in known] if properties else known
    return {
        "id": str(row["id"]),
        "properties": {name: row[name] for name in wanted} | {"hs_object_id": str(row["id"])},
        "createdAt": row["createdate"],
        "updatedAt": row["hs_lastmodifieddate"],
        "archived": False,
    }


def _page(
    request: Request,
    where: str,
    params: list,
    order: str,
    limit: int,
    after: int,
    properties: list[str],
) -> dict:
    with request.app.state.store.snapshot() as conn:
        total = conn.execute(f"select count(*) from hubspot_deals {where}", params).fetchone()[0]
        rows = conn.execute(
            f"select * from hubspot_deals {where} order by {order} limit ? offset ?",
            [*params, limit, after],
        ).fetchall()
    body = {"total": total, "results": [_deal(row, properties) for row in rows]}
    if after + limit < total:
        after_next = str(after + limit)
        link = str(request.url.include_query_params(after=after_next))
        body["paging"] = {"next": {"after": after_next, "link": link}}
    return body


@router.get("/deals")
def list_deals(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 10,
    after: Annotated[str, Query(pattern=AFTER)] = "0",
    properties: Annotated[str, Query()] = "",
) -> dict:
    wanted = [p for p in properties.split(",") if p]
    return _page(request, "", [], "id", limit, int(after), wanted)


@router.post("/deals/search")
def search_deals(request: Request, search: SearchRequest) -> dict:
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
    return _page(request, where, params, order, search.limit, int(search.after), search.properties)
