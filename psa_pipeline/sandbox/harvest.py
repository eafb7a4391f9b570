"""Harvest API v2 dialect: time entries.

Paging is page / per_page (max 2000) with `links.next` a full URL and null on the last page.
`updated_since` (ISO 8601) is the incremental filter; `from` / `to` bound the spent date.
Pages are ordered by id so that a page boundary never moves while new entries arrive
(Harvest itself orders by spent date; the connector does not depend on the order).
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from psa_pipeline.sandbox.auth import require_harvest_credentials
from psa_pipeline.sandbox.firm import iso

MAX_PER_PAGE = 2000
MAX_PAGE = 1_000_000

router = APIRouter(prefix="/harvest/v2", dependencies=[Depends(require_harvest_credentials)])


def _time_entry(row) -> dict:
    return {
        "id": row["id"],
        "spent_date": row["spent_date"],
        "hours": row["hours"],
        "rounded_hours": row["hours"],
        "notes": row["notes"],
        "is_locked": bool(row["is_locked"]),
        "locked_reason": "Item Approved and Locked for this Time Period"
        if row["is_locked"]
        else None,
        "is_closed": bool(row["is_closed"]),
        "is_billed": bool(row["is_billed"]),
        "is_running": False,
        "billable": bool(row["billable"]),
        "budgeted": True,
        "billable_rate": row["billable_rate"],
        "cost_rate": row["cost_rate"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "user": {"id": row["user_id"], "name": row["user_name"]},
        "client": {
            "id": row["client_id"],
            "name": row["client_name"],
            "currency": row["client_currency"],
        },
        "project": {
            "id": row["project_id"],
            "name": row["project_name"],
            "code": row["project_code"],
        },
        "task": {"id": row["task_id"], "name": row["task_name"]},
        "invoice": None,
        "external_reference": None,
    }


@router.get("/time_entries")
def list_time_entries(
    request: Request,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = MAX_PER_PAGE,
    updated_since: Annotated[datetime | None, Query()] = None,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: Annotated[date | None, Query()] = None,
) -> dict:
    clauses, params = [], []
    if updated_since is not None:
        clauses.append("updated_at >= ?")
        params.append(iso(updated_since))
    if from_ is not None:
        clauses.append("spent_date >= ?")
        params.append(from_.isoformat())
    if to is not None:
        clauses.append("spent_date <= ?")
        params.append(to.isoformat())
    where = f"where {' and '.join(clauses)}" if clauses else ""
    with request.app.state.store.snapshot() as conn:
        total = conn.execute(
            f"select count(*) from harvest_time_entries {where}", params
        ).fetchone()[0]
        rows = conn.execute(
            f"select * from harvest_time_entries {where} order by id limit ? offset ?",
            [*params, per_page, (page - 1) * per_page],
        ).fetchall()
    total_pages = max(1, math.ceil(total / per_page))

    def link(to_page: int | None) -> str | None:
        if to_page is None:
            return None
        return str(request.url.include_query_params(page=to_page, per_page=per_page))

    next_page = page + 1 if page < total_pages else None
    previous_page = page - 1 if page > 1 else None
    return {
        "time_entries": [_time_entry(row) for row in rows],
        "per_page": per_page,
        "total_pages": total_pages,
        "total_entries": total,
        "next_page": next_page,
        "previous_page": previous_page,
        "page": page,
        "links": {
            "first": link(1),
            "next": link(next_page),
            "previous": link(previous_page),
            "last": link(total_pages),
        },
    }
