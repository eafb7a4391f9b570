"""Harvest API v2 dialect: users, clients, projects, tasks, time entries and expenses.

Every collection pages the same way: page / per_page (max 2000), `links.next` a full URL and
null on the last page, pages ordered by id so that a page boundary never moves while new
records arrive (Harvest itself orders by date; the connector does not depend on the order).
`updated_since` (ISO 8601) is the incremental filter on all of them; the rest are as Harvest
offers them: `is_active` on the reference data, `client_id` on projects, `project_id` and
`from` / `to` (the spent date) on time entries and expenses.

The store keeps Harvest's nested references flat (`project_id`, `project_name`, ...) and they
are nested again on the way out. A value the generator corrupted on purpose (hours or a total
that is not a number, a time entry without a project id) is served as it is stored.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from psa_pipeline.sandbox.auth import require_harvest_credentials
from psa_pipeline.sandbox.calendar import iso

MAX_PER_PAGE = 2000
MAX_PAGE = 1_000_000
MAX_ID = 2**62  # SQLite integers are 64-bit: larger ids would be a 500, not a 422
LOCKED_REASON = "Item Approved and Locked for this Time Period"
# The store's 0/1 integer columns, served as JSON booleans.
FLAGS = frozenset(
    {
        "is_active",
        "is_billable",
        "is_fixed_fee",
        "is_locked",
        "is_closed",
        "is_billed",
        "billable",
        "billable_by_default",
    }
)

router = APIRouter(prefix="/harvest/v2", dependencies=[Depends(require_harvest_credentials)])


@dataclass(frozen=True)
class Filter:
    """A query parameter and the SQL condition it becomes."""

    parameter: Any  # the annotation FastAPI reads (type, validation, alias)
    condition: str  # with one `?` for the value
    to_sql: Callable[[Any], Any]


FILTERS = {
    "updated_since": Filter(datetime | None, "updated_at >= ?", iso),
    "is_active": Filter(bool | None, "is_active = ?", int),
    "client_id": Filter(Annotated[int | None, Query(ge=1, le=MAX_ID)], "client_id = ?", int),
    "project_id": Filter(Annotated[int | None, Query(ge=1, le=MAX_ID)], "project_id = ?", int),
    "from_": Filter(Annotated[date | None, Query(alias="from")], "spent_date >= ?", date.isoformat),
    "to": Filter(date | None, "spent_date <= ?", date.isoformat),
}


def _record(row, *nested: str) -> dict:
    """A row as Harvest serves it: flags as booleans, `<ref>_<field>` columns as `{<ref>: {}}`."""
    record: dict = {}
    for column in row.keys():
        value = bool(row[column]) if column in FLAGS else row[column]
        ref = next((ref for ref in nested if column.startswith(f"{ref}_")), None)
        if ref is None:
            record[column] = value
        else:
            record.setdefault(ref, {})[column.removeprefix(f"{ref}_")] = value
    return record


def _booking(row, *nested: str) -> dict:
    """What time entries and expenses share: who, for whom, on what, and whether it is locked."""
    return _record(row, "user", "client", "project", *nested) | {
        "locked_reason": LOCKED_REASON if row["is_locked"] else None,
        "invoice": None,
    }


def _time_entry(row) -> dict:
    return _booking(row, "task") | {
        "rounded_hours": row["hours"],
        "is_running": False,
        "budgeted": True,
        "external_reference": None,
    }


def _expense(row) -> dict:
    return _booking(row, "expense_category") | {"units": None, "receipt": None}


@dataclass(frozen=True)
class Collection:
    source: str  # a table, or a query that joins in what the records nest
    serialize: Callable[..., dict]
    filters: tuple[str, ...]


COLLECTIONS = {
    "users": Collection(
        "harvest_users",
        lambda row: _record(row) | {"timezone": "Etc/UTC", "is_contractor": False},
        ("updated_since", "is_active"),
    ),
    "clients": Collection(
        "harvest_clients",
        lambda row: _record(row) | {"address": None},
        ("updated_since", "is_active"),
    ),
    "projects": Collection(
        # a left join: a project whose client is missing is still served, with a null name
        "(select p.*, c.name as client_name, c.currency as client_currency"
        " from harvest_projects p left join harvest_clients c on c.id = p.client_id)",
        lambda row: _record(row, "client"),
        ("updated_since", "is_active", "client_id"),
    ),
    "tasks": Collection("harvest_tasks", _record, ("updated_since", "is_active")),
    "time_entries": Collection(
        "harvest_time_entries", _time_entry, ("updated_since", "project_id", "from_", "to")
    ),
    "expenses": Collection(
        "harvest_expenses", _expense, ("updated_since", "project_id", "from_", "to")
    ),
}


def _page(request: Request, name: str, page: int, per_page: int, filters: dict) -> dict:
    collection = COLLECTIONS[name]
    given = [(FILTERS[key], value) for key, value in filters.items() if value is not None]
    where = " and ".join(f.condition for f, _ in given)
    where = f"where {where}" if where else ""
    params = [f.to_sql(value) for f, value in given]
    with request.app.state.store.snapshot() as conn:
        total = conn.execute(f"select count(*) from {collection.source} {where}", params)
        total = total.fetchone()[0]
        rows = conn.execute(
            f"select * from {collection.source} {where} order by id limit ? offset ?",
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
        name: [collection.serialize(row) for row in rows],
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


def _endpoint(name: str) -> Callable[..., dict]:
    """A list endpoint whose signature declares exactly the collection's filters to FastAPI."""

    def endpoint(request: Request, page: int, per_page: int, **filters) -> dict:
        return _page(request, name, page, per_page, filters)

    keyword = inspect.Parameter.KEYWORD_ONLY
    parameters = [
        inspect.Parameter("request", keyword, annotation=Request),
        inspect.Parameter(
            "page", keyword, default=1, annotation=Annotated[int, Query(ge=1, le=MAX_PAGE)]
        ),
        inspect.Parameter(
            "per_page",
            keyword,
            default=MAX_PER_PAGE,
            annotation=Annotated[int, Query(ge=1, le=MAX_PER_PAGE)],
        ),
    ]
    parameters += [
        inspect.Parameter(key, keyword, default=None, annotation=FILTERS[key].parameter)
        for key in COLLECTIONS[name].filters
    ]
    endpoint.__signature__ = inspect.Signature(parameters, return_annotation=dict)
    endpoint.__name__ = f"list_{name}"
    endpoint.__doc__ = f"Harvest {name.replace('_', ' ')}, ordered by id, paged by page / per_page."
    return endpoint


for _name in COLLECTIONS:
    router.add_api_route(f"/{_name}", _endpoint(_name), methods=["GET"])
