"""Kantata OX dialect: workspaces (projects), stories (tasks, milestones), assignments, users.

Paging is page / per_page (max 200). Kantata side-loads: the ordered list is `results`
(`{key, id}` pairs) and the records themselves sit in an id-keyed map named after the
collection, with `meta` giving count, page_count, page_number and page_size. `updated_after`
filters incrementally and `order=updated_at:asc` (or `id:asc`, the default) orders the pages;
the id breaks ties, so a page boundary never moves.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from psa_pipeline.sandbox.auth import require_bearer
from psa_pipeline.sandbox.calendar import iso

MAX_PER_PAGE = 200
MAX_PAGE = 1_000_000
COLLECTIONS = {
    "workspaces": "kantata_workspaces",
    "stories": "kantata_stories",
    "assignments": "kantata_assignments",
    "rate_cards": "kantata_rate_cards",
    "users": "kantata_users",
}
ORDERS = {"id:asc": "id asc", "updated_at:asc": "updated_at asc, id asc"}

router = APIRouter(prefix="/kantata/api/v1", dependencies=[Depends(require_bearer)])


def _record(collection: str, row) -> dict:
    record = {key: row[key] for key in row.keys()}
    record["id"] = str(row["id"])
    for reference in ("workspace_id", "story_id", "assignee_id"):
        if reference in record:
            record[reference] = str(record[reference])
    if collection == "users":
        record["disabled"] = bool(record["disabled"])
    return record


def _list(
    request: Request,
    collection: str,
    page: int,
    per_page: int,
    updated_after: datetime | None,
    order: str,
    workspace_id: int | None,
) -> dict:
    table = COLLECTIONS[collection]
    clauses, params = [], []
    if updated_after is not None:
        clauses.append("updated_at > ?")
        params.append(iso(updated_after))
    if workspace_id is not None and collection in ("stories", "assignments", "rate_cards"):
        clauses.append("workspace_id = ?")
        params.append(workspace_id)
    where = f"where {' and '.join(clauses)}" if clauses else ""
    with request.app.state.store.snapshot() as conn:
        total = conn.execute(f"select count(*) from {table} {where}", params).fetchone()[0]
        rows = conn.execute(
            f"select * from {table} {where} order by {ORDERS[order]} limit ? offset ?",
            [*params, per_page, (page - 1) * per_page],
        ).fetchall()
    records = [_record(collection, row) for row in rows]
    return {
        "count": total,
        "results": [{"key": collection, "id": r["id"]} for r in records],
        collection: {r["id"]: r for r in records},
        "meta": {
            "count": total,
            "page_count": max(1, math.ceil(total / per_page)),
            "page_number": page,
            "page_size": per_page,
        },
    }


def _endpoint(collection: str):
    def list_collection(
        request: Request,
        page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
        per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 20,
        updated_after: Annotated[datetime | None, Query()] = None,
        order: Annotated[str, Query(pattern="^(id:asc|updated_at:asc)$")] = "id:asc",
        workspace_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    ) -> dict:
        return _list(request, collection, page, per_page, updated_after, order, workspace_id)

    list_collection.__name__ = f"list_{collection}"
    list_collection.__doc__ = f"Kantata {collection}, side-loaded, paged by page / per_page."
    return list_collection


for _collection in COLLECTIONS:
    router.add_api_route(f"/{_collection}.json", _endpoint(_collection), methods=["GET"])
