"""Harvest API v2 dialect: users, clients, projects, tasks, time entries and expenses.

What it serves, and where each part comes from (help.getharvest.com/api-v2):
- Paging (introduction/overview/pagination): cursor-based. The first page is asked for
  without a cursor (or with `page`); every page carries `links.next`, a full URL with an
  opaque `cursor` (unpadded URL-safe base64 of JSON, `{"after": {...}}` as in the reference's
  example) and `ref=next_cursor`, null on the last page. `page`, `next_page` and
  `previous_page` are null on every page but the first and the last ("If the response is
  using cursor based pagination, page, next_page, and previous_page will always return null
  for all but the first and last pages"; the reference's own second-page example still shows
  numbers, we follow its prose). `total_pages`, `total_entries` and `per_page` are on every
  page. `per_page` is 1 to 2000 (default 2000, more is a 422). The cursor is a keyset on the
  order each list documents, newest first (`created_at` for reference data, `spent_date` for
  time entries and expenses, then id), so a walk never repeats or skips a record while new
  ones arrive: they sort before the cursor.
- Authentication (authentication-api; overview/general): `Authorization: Bearer`,
  `Harvest-Account-Id`, and a `User-Agent`. No User-Agent is a 400 Bad Request. A missing,
  wrong or expired token, or a missing account id, is a 401 with the OAuth error body
  (`invalid_token`), as Harvest answers (googleworkspace/apps-script-oauth2#90); we answer an
  account the token cannot reach the same way.
- Permissions (each object's "Required permissions"): users, clients, projects and tasks need
  an Administrator (or a Manager with the right permission); anyone else gets 403 Forbidden.
  Members see only their own time entries and expenses, with a 200. Taking `administrator`
  away (`POST /_sandbox/permissions {"harvest": ["administrator"]}`) makes the token a
  member's: the firm's first user. `GET /v2/users/me` says who the token is
  (`access_roles`).
- Records: each object as its reference documents it, JSON numbers for hours and money,
  `YYYY-MM-DD` dates, `YYYY-MM-DDTHH:MM:SSZ` timestamps, booleans, null where a field has no
  value. A time entry's `client` and `project` are `{id, name}` (the project's code is on the
  project, the currency on the client and on the project's client); an expense's are
  `{id, name, currency}` and `{id, name, code}`, as the reference documents them.
- Filters: `updated_since` (ISO 8601, served inclusive: `updated_at >=`; the reference does
  not say), `is_active`, `client_id` on projects, `user_id`, `project_id`, `from` / `to`
  (spent date, both inclusive) on time entries and expenses.

The store keeps Harvest's nested references flat (`project_id`, `project_name`, ...). A value
the generator corrupted on purpose (hours that are not a number, no project id) is served as it
is stored.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import inspect
import json
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from psa_pipeline.sandbox.auth import lacks
from psa_pipeline.sandbox.calendar import iso

MAX_PER_PAGE = 2000
MAX_PAGE = 1_000_000
MAX_ID = 2**62  # SQLite integers are 64-bit: larger ids would be a 500, not a 422
ADMINISTRATOR = "administrator"  # the access role that sees every record of the account
LOCKED_REASON = "Item Approved and Locked for this Time Period"
WEEKLY_CAPACITY = 40 * 3600  # seconds, as Harvest counts it
FORBIDDEN = {"message": "You do not have permission to access this resource."}  # unverified
INVALID_TOKEN = {
    "error": "invalid_token",
    "error_description": (
        "The access token provided is expired, revoked, malformed or invalid for other reasons."
    ),
}

router = APIRouter(prefix="/harvest/v2")


def _refusal(request: Request) -> JSONResponse | None:
    """Harvest's answer to a request it will not serve, or None when it will."""
    if not request.headers.get("user-agent"):
        return JSONResponse({"error": "Bad Request"}, status_code=400)
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    account = request.headers.get("harvest-account-id", "")
    if (
        scheme.lower() != "bearer"
        or not secrets.compare_digest(token.encode(), request.app.state.token.encode())
        or not secrets.compare_digest(
            account.encode(), request.app.state.harvest_account_id.encode()
        )
    ):
        return JSONResponse(INVALID_TOKEN, status_code=401)
    return None


@dataclass(frozen=True)
class Filter:
    """A query parameter and the SQL condition it becomes."""

    parameter: Any  # the annotation FastAPI reads (type, validation, alias)
    condition: str  # with one `?` for the value
    to_sql: Callable[[Any], Any]


_ID = Annotated[int | None, Query(ge=1, le=MAX_ID)]
FILTERS = {
    "updated_since": Filter(datetime | None, "updated_at >= ?", iso),
    "is_active": Filter(bool | None, "is_active = ?", int),
    "client_id": Filter(_ID, "client_id = ?", int),
    "user_id": Filter(_ID, "user_id = ?", int),
    "project_id": Filter(_ID, "project_id = ?", int),
    "from_": Filter(Annotated[date | None, Query(alias="from")], "spent_date >= ?", date.isoformat),
    "to": Filter(date | None, "spent_date <= ?", date.isoformat),
}


def _name(row, ref: str) -> dict:
    return {"id": row[f"{ref}_id"], "name": row[f"{ref}_name"]}


def _stamps(row) -> dict:
    return {"created_at": row["created_at"], "updated_at": row["updated_at"]}


def _flags(row, *names: str) -> dict:
    """The store's 0/1 integers as JSON booleans."""
    return {name: bool(row[name]) for name in names}


def _locked(row) -> dict:
    return {
        **_flags(row, "is_locked", "is_closed", "is_billed", "billable"),
        "locked_reason": LOCKED_REASON if row["is_locked"] else None,
    }


def _user_assignment(row, hourly_rate: float | None) -> dict:
    """The booking user's assignment to the project (set up with the project)."""
    return {
        "id": (row["project_id"] or 0) * 100_000 + row["user_id"] % 100_000,
        "is_project_manager": False,
        "is_active": True,
        "budget": None,
        "created_at": row["project_created_at"],
        "updated_at": row["project_created_at"],
        "hourly_rate": hourly_rate,
    }


def _time_entry(row) -> dict:
    """help.getharvest.com/api-v2/timesheets-api/timesheets/time-entries/ (the object)."""
    task_assignment = {
        "id": (row["project_id"] or 0) * 1_000 + row["task_id"],
        "billable": bool(row["billable"]),
        "is_active": True,
        "created_at": row["project_created_at"],
        "updated_at": row["project_created_at"],
        "hourly_rate": row["billable_rate"],
        "budget": None,
    }
    return {
        "id": row["id"],
        "spent_date": row["spent_date"],
        "user": _name(row, "user"),
        "client": _name(row, "client"),
        "project": _name(row, "project"),
        "task": _name(row, "task"),
        "user_assignment": _user_assignment(row, row["billable_rate"]),
        "task_assignment": task_assignment,
        "hours": row["hours"],
        "hours_without_timer": row["hours"],
        "rounded_hours": row["hours"],  # whole half hours: every rounding setting keeps them
        "notes": row["notes"],
        **_stamps(row),
        **_locked(row),
        "timer_started_at": None,
        "started_time": None,
        "ended_time": None,
        "is_running": False,
        "invoice": None,  # the ERP invoices; Harvest never learns of it
        "external_reference": None,
        "budgeted": True,
        "billable_rate": row["billable_rate"],
        "cost_rate": row["cost_rate"],
    }


def _expense(row) -> dict:
    """help.getharvest.com/api-v2/expenses-api/expenses/expenses/ (the object)."""
    return {
        "id": row["id"],
        "notes": row["notes"],
        "total_cost": row["total_cost"],
        "units": 1.0,  # every category is priced by amount
        **_locked(row),
        "spent_date": row["spent_date"],
        **_stamps(row),
        "receipt": None,
        "user": _name(row, "user"),
        "user_assignment": _user_assignment(row, None),
        "project": _name(row, "project") | {"code": row["project_code"]},
        "expense_category": _name(row, "expense_category")
        | {"unit_price": None, "unit_name": None},
        "client": _name(row, "client") | {"currency": row["client_currency"]},
        "invoice": None,
    }


def _user(row) -> dict:
    """help.getharvest.com/api-v2/users-api/users/users/ (the object)."""
    return {
        "id": row["id"],
        "first_name": row["first_name"],
        "last_name": row["last_name"],
        "email": row["email"],
        "telephone": "",
        "timezone": row["timezone"],
        "has_access_to_all_future_projects": False,
        "is_contractor": False,
        **_flags(row, "is_active"),
        **_stamps(row),
        "weekly_capacity": WEEKLY_CAPACITY,
        "default_hourly_rate": None,
        "cost_rate": row["cost_rate"],
        "roles": json.loads(row["roles"]),
        "access_roles": [row["access_role"]],
        "avatar_url": f"https://cache.harvestapp.com/assets/profile_images/{row['id']}.png",
    }


def _client(row) -> dict:
    """help.getharvest.com/api-v2/clients-api/clients/clients/ (the object)."""
    return {
        "id": row["id"],
        "name": row["name"],
        **_flags(row, "is_active"),
        "address": None,
        "statement_key": hashlib.md5(str(row["id"]).encode()).hexdigest(),  # noqa: S324 (a key)
        **_stamps(row),
        "currency": row["currency"],
    }


def _project(row) -> dict:
    """help.getharvest.com/api-v2/projects-api/projects/projects/ (the object)."""
    return {
        "id": row["id"],
        "name": row["name"],
        "code": row["code"],
        **_flags(row, "is_active"),
        "bill_by": row["bill_by"],
        "budget": None,
        "budget_by": "none",
        "budget_is_monthly": False,
        "notify_when_over_budget": False,
        "over_budget_notification_percentage": 80.0,
        "over_budget_notification_date": None,
        "show_budget_to_all": False,
        **_stamps(row),
        "starts_on": row["starts_on"],
        "ends_on": row["ends_on"],
        **_flags(row, "is_billable", "is_fixed_fee"),
        "notes": "",
        # a left join: a project whose client is missing is still served, with a null name
        "client": {"id": row["client_id"], "name": row["client_name"], "currency": row["currency"]},
        "cost_budget": None,
        "cost_budget_include_expenses": False,
        "hourly_rate": None,
        "fee": row["fee"],
    }


def _task(row) -> dict:
    """help.getharvest.com/api-v2/tasks-api/tasks/tasks/ (the object)."""
    return {
        "id": row["id"],
        "name": row["name"],
        **_flags(row, "billable_by_default"),
        "default_hourly_rate": None,
        "is_default": True,
        **_flags(row, "is_active"),
        **_stamps(row),
    }


@dataclass(frozen=True)
class Collection:
    source: str  # a table, or a query that joins in what the records nest
    serialize: Callable[..., dict]
    filters: tuple[str, ...]
    order: str  # what Harvest lists it by, newest first (then by id)
    own: bool = False  # a member lists their own records (else: 403 without administrator)


# the token's user is the firm's first: its administrator
ME = "(select min(id) from harvest_users)"
USERS = (
    f"(select u.*, case when u.id = {ME} then '{ADMINISTRATOR}' else 'member' end"
    " as access_role from harvest_users u)"
)


def _with_project_opened(table: str) -> str:
    return (
        f"(select b.*, p.created_at as project_created_at from {table} b"
        f" left join harvest_projects p on p.id = b.project_id)"
    )


COLLECTIONS = {
    "users": Collection(USERS, _user, ("updated_since", "is_active"), "created_at"),
    "clients": Collection("harvest_clients", _client, ("updated_since", "is_active"), "created_at"),
    "projects": Collection(
        "(select p.*, c.name as client_name, c.currency"
        " from harvest_projects p left join harvest_clients c on c.id = p.client_id)",
        _project,
        ("updated_since", "is_active", "client_id"),
        "created_at",
    ),
    "tasks": Collection("harvest_tasks", _task, ("updated_since", "is_active"), "created_at"),
    "time_entries": Collection(
        _with_project_opened("harvest_time_entries"),
        _time_entry,
        ("updated_since", "user_id", "project_id", "from_", "to"),
        "spent_date",
        own=True,
    ),
    "expenses": Collection(
        _with_project_opened("harvest_expenses"),
        _expense,
        ("updated_since", "user_id", "project_id", "from_", "to"),
        "spent_date",
        own=True,
    ),
}


class BadCursor(ValueError):
    pass


def encode_cursor(direction: str, position: dict) -> str:
    """Harvest's cursor form: unpadded URL-safe base64 of `{"after": {...}}` (or before)."""
    text = json.dumps({direction: position}, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


def decode_cursor(cursor: str, order: str) -> tuple[str, dict]:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        [(direction, position)] = decoded.items()
        if direction not in ("after", "before") or set(position) != {order, "id"}:
            raise BadCursor(cursor)
    except (binascii.Error, UnicodeDecodeError, ValueError, AttributeError, TypeError) as error:
        raise BadCursor(cursor) from error
    return direction, position


@dataclass(frozen=True)
class Window:
    """One page of a list: its rows, and whether the list goes on before and after it."""

    rows: list
    total: int
    first: bool
    last: bool
    page: int | None  # the number a page-number request asked for


class Listing:
    """One collection's records under some conditions, newest first, read in one snapshot."""

    def __init__(self, conn, collection: Collection, where: list[str], params: list):
        self.conn, self.collection = conn, collection
        self.where, self.params = where, params
        order = collection.order
        self.newest_first = f"order by {order} desc, id desc"
        self.oldest_first = f"order by {order} asc, id asc"
        # row values: SQLite walks its index on the order column (which holds the id) with them
        self.older, self.newer = f"({order}, id) < (?, ?)", f"({order}, id) > (?, ?)"

    def _select(self, what: str, extra: list[str], tail: str, params: list) -> list:
        conditions = [*self.where, *extra]
        where = f"where {' and '.join(conditions)}" if conditions else ""
        sql = f"select {what} from {self.collection.source} {where} {tail}"
        return self.conn.execute(sql, [*self.params, *params]).fetchall()

    def window(self, per_page: int, page: int, cursor: str | None) -> Window:
        """A page by number (the first request, `links.first` / `last`) or by cursor."""
        total = self._select("count(*)", [], "", [])[0][0]
        if cursor is None:
            offset = (page - 1) * per_page
            rows = self._select(
                "*", [], f"{self.newest_first} limit ? offset ?", [per_page, offset]
            )
            return Window(rows, total, page == 1, offset + len(rows) >= total, page)
        direction, position = decode_cursor(cursor, self.collection.order)
        keys = [position[self.collection.order], position["id"]]
        if direction == "after":
            rows = self._select(
                "*", [self.older], f"{self.newest_first} limit ?", [*keys, per_page + 1]
            )
            return Window(rows[:per_page], total, False, len(rows) <= per_page, None)
        rows = self._select(
            "*", [self.newer], f"{self.oldest_first} limit ?", [*keys, per_page + 1]
        )
        return Window(rows[:per_page][::-1], total, len(rows) <= per_page, False, None)


def _page(
    request: Request, name: str, page: int, cursor: str | None, per_page: int, filters: dict
) -> dict | JSONResponse:
    collection = COLLECTIONS[name]
    given = [(FILTERS[key], value) for key, value in filters.items() if value is not None]
    where = [f.condition for f, _ in given]
    params = [f.to_sql(value) for f, value in given]
    if lacks(request, "harvest", ADMINISTRATOR):
        if not collection.own:
            return JSONResponse(FORBIDDEN, status_code=403)
        where.append(f"user_id = {ME}")  # the member's own
    with request.app.state.store.snapshot() as conn:
        try:
            window = Listing(conn, collection, where, params).window(per_page, page, cursor)
        except BadCursor:
            return JSONResponse({"message": "Invalid cursor"}, status_code=422)
    return {
        name: [collection.serialize(row) for row in window.rows],
        **_paging(request, collection.order, window, per_page),
    }


def _paging(request: Request, order: str, window: Window, per_page: int) -> dict:
    """Harvest's paging fields: numbers on the first and last pages only, cursor links."""
    total_pages = max(1, math.ceil(window.total / per_page))
    number = None  # a middle page's, as cursor paging has it
    if window.first or window.last:
        number = window.page or (1 if window.first else total_pages)

    def link(ref: str, **to) -> str:
        plain = request.url.remove_query_params(["page", "cursor", "per_page", "ref"])
        return str(plain.include_query_params(**to, per_page=per_page, ref=ref))

    def cursor_link(ref: str, direction: str, row) -> str:
        at = {order: row[order], "id": row["id"]}
        return link(ref, cursor=encode_cursor(direction, at))

    rows = window.rows
    return {
        "per_page": per_page,
        "total_pages": total_pages,
        "total_entries": window.total,
        "next_page": None if number is None or window.last else number + 1,
        "previous_page": None if number is None or window.first else number - 1,
        "page": number,
        "links": {
            "first": link("first", page=1),
            "next": None if window.last else cursor_link("next_cursor", "after", rows[-1]),
            "previous": None
            if window.first or not rows
            else cursor_link("previous_cursor", "before", rows[0]),
            "last": link("last", page=total_pages),
        },
    }


def _endpoint(name: str) -> Callable[..., dict]:
    """A list endpoint whose signature declares exactly the collection's filters to FastAPI."""

    def endpoint(request: Request, page: int, cursor: str | None, per_page: int, **filters):
        refused = _refusal(request)
        if refused is not None:
            return refused
        return _page(request, name, page, cursor, per_page, filters)

    keyword = inspect.Parameter.KEYWORD_ONLY
    parameters = [
        inspect.Parameter("request", keyword, annotation=Request),
        inspect.Parameter(
            "page", keyword, default=1, annotation=Annotated[int, Query(ge=1, le=MAX_PAGE)]
        ),
        inspect.Parameter("cursor", keyword, default=None, annotation=str | None),
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
    endpoint.__signature__ = inspect.Signature(parameters)
    endpoint.__name__ = f"list_{name}"
    endpoint.__doc__ = f"Harvest {name.replace('_', ' ')}, newest first, paged by cursor."
    return endpoint


@router.get("/users/me")
def current_user(request: Request):
    """Who the token belongs to, and its access role (any role may ask)."""
    refused = _refusal(request)
    if refused is not None:
        return refused
    with request.app.state.store.snapshot() as conn:
        me = conn.execute(f"select * from {USERS} where id = {ME}").fetchone()
    if me is None:
        return JSONResponse({"error": "Not Found"}, status_code=404)
    user = _user(me)
    if lacks(request, "harvest", ADMINISTRATOR):
        user["access_roles"] = ["member"]
    return user


for _name_ in COLLECTIONS:
    router.add_api_route(f"/{_name_}", _endpoint(_name_), methods=["GET"])
