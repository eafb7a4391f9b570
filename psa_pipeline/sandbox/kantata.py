"""Kantata OX dialect: the PSA's workspaces, stories, assignments, users and rate cards.

What the API reference (developer.kantata.com/kantata/specification) and the vendor's own
clients (mavenlink/mavenlink_gem, mavenlink/mavenlink_ruby spec fixtures) show, served as such:

- `GET /api/v1/<collection>.json`, paged by `page` / `per_page` (20 by default, at most 200).
  A page is `{count, results: [{key, id}], <collection>: {id: record}, meta: {count,
  page_count, page_number, page_size}}`: the order is `results`', the records sit in an
  id-keyed map. An empty collection answers `count` 0, no results, an empty map and
  `page_count` 0.
- Ids are strings, in records and in references. Timestamps carry the account's UTC offset
  (`2018-07-24T19:13:52-07:00`): the account's time zone is a knob (`POST
  /_sandbox/kantata/account {"time_zone": "Asia/Kolkata"}`, or `psa-pipeline sandbox serve
  --kantata-time-zone`), a named zone, so offsets move with daylight saving time. Dates
  (`start_date`, `due_date`, `effective_date`) are plain `YYYY-MM-DD`.
- `updated_after` filters strictly after an instant (an offset-less one is read in the
  account's zone); `order=<field>:<asc|desc>` takes the fields each endpoint sorts on, and
  the id breaks ties, so a page boundary never moves.
- What a list leaves out unless asked: archived workspaces (`include_archived=true`); stories
  outside the projects the requester takes part in (`all_on_account=true`, for
  administrators) and those of archived workspaces (`show_from_archived_workspaces=true`);
  assignments in archived workspaces (`in_unarchived_workspaces=false`); users who take part
  in no project (`on_my_account=true`).
- Shapes: a workspace's `status` is `{color, key, message}`; an assignment names its story,
  not its workspace; users carry no created/updated stamps; rates live on rate card roles
  (cents per hour) in a rate card version, dated by its rate card set version, for a rate
  card (a currency) of a set that a workspace names by `rate_card_id`.
- Permissions (`POST /_sandbox/permissions {"kantata": [...]}`): without `administrator`,
  the token's user sees only the projects it takes part in (none) and the rate card set
  versions, rate card versions and rate card roles answer 403; without `financial access`,
  rate card sets and rate cards answer 403 too. Errors are `{"errors": [{type, message}]}`.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Body, HTTPException, Request
from fastapi.responses import JSONResponse

from psa_pipeline.sandbox.auth import lacks
from psa_pipeline.sandbox.calendar import iso

DEFAULT_TIME_ZONE = "America/Los_Angeles"
DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 200
ADMINISTRATOR = "administrator"
FINANCIAL_ACCESS = "financial access"
API_USER_ID = "1"  # the token's user, an account member who takes part in no project
API_MEMBERSHIP_ID = "11"
# Kantata's default project statuses; key 300 for Active is what public clients test
# against, the others' keys and the colours are the sandbox's own choice
STATUSES = {
    "Active": {"color": "green", "key": 300, "message": "Active"},
    "Completed": {"color": "grey", "key": 500, "message": "Completed"},
}

Row = Any  # a sqlite3.Row
Filters = tuple[list[str], list[Any]]  # SQL conditions and their parameters


def _local(stamp: str | None, zone: ZoneInfo) -> str | None:
    """A stored UTC stamp as the account shows it: `2025-04-12T04:00:00-07:00`."""
    if stamp is None:
        return None
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(zone).isoformat()


def _id(value: Any) -> str | None:
    return None if value is None else str(value)


def _stamps(row: Row, zone: ZoneInfo) -> dict:
    return {
        "created_at": _local(row["created_at"], zone),
        "updated_at": _local(row["updated_at"], zone),
    }


def _workspace(row: Row, zone: ZoneInfo) -> dict:
    return {
        "id": _id(row["id"]),
        "title": row["title"],
        "archived": bool(row["archived"]),
        "status": STATUSES[row["status"]],
        "start_date": row["start_date"],
        "due_date": row["due_date"],
        "currency": row["currency"],
        "rate_card_id": _id(row["rate_card_id"]),
        **_stamps(row, zone),
    }


def _story(row: Row, zone: ZoneInfo) -> dict:
    return {
        "id": _id(row["id"]),
        "workspace_id": _id(row["workspace_id"]),
        "parent_id": None,
        "title": row["title"],
        "story_type": row["story_type"],
        "state": row["state"],
        "archived": False,
        "start_date": row["start_date"],
        "due_date": row["due_date"],
        "budget_estimate_in_cents": row["budget_estimate_in_cents"],
        **_stamps(row, zone),
    }


def _assignment(row: Row, zone: ZoneInfo) -> dict:
    return {
        "id": _id(row["id"]),
        "story_id": _id(row["story_id"]),
        "assignee_id": _id(row["assignee_id"]),
        "current": True,
        **_stamps(row, zone),
    }


def _user(row: Row, zone: ZoneInfo) -> dict:
    return {  # Kantata stamps no created_at / updated_at on users
        "id": _id(row["id"]),
        "full_name": row["full_name"],
        "email_address": row["email_address"],
        "headline": row["headline"],
        "disabled": bool(row["disabled"]),
    }


def _role(row: Row, zone: ZoneInfo) -> dict:
    return {"id": _id(row["id"]), "name": row["name"]}


def _rate_card_set(row: Row, zone: ZoneInfo) -> dict:
    return {
        "id": _id(row["id"]),
        "title": row["title"],
        "account_default": bool(row["account_default"]),
    }


def _rate_card(row: Row, zone: ZoneInfo) -> dict:
    return {
        "id": _id(row["id"]),
        "rate_card_set_id": _id(row["rate_card_set_id"]),
        "currency": row["currency"],
    }


def _rate_card_set_version(row: Row, zone: ZoneInfo) -> dict:
    return {
        "id": _id(row["id"]),
        "rate_card_set_id": _id(row["rate_card_set_id"]),
        "effective_date": row["effective_date"],
        "active": bool(row["active"]),
        **_stamps(row, zone),
    }


def _rate_card_version(row: Row, zone: ZoneInfo) -> dict:
    return {
        "id": _id(row["id"]),
        "rate_card_id": _id(row["rate_card_id"]),
        "rate_card_set_version_id": _id(row["rate_card_set_version_id"]),
        "default_rate": row["default_rate"],
        **_stamps(row, zone),
    }


def _rate_card_role(row: Row, zone: ZoneInfo) -> dict:
    return {
        "id": _id(row["id"]),
        "rate_card_version_id": _id(row["rate_card_version_id"]),
        "role_id": _id(row["role_id"]),
        "rate": row["rate"],
        **_stamps(row, zone),
    }


def _flag(query, name: str) -> bool:
    return query.get(name, "").lower() == "true"


def _is_admin(request: Request) -> bool:
    return not lacks(request, "kantata", ADMINISTRATOR)


def _workspaces_seen(request: Request) -> Filters:
    """Archived projects only when asked for; a non-administrator takes part in none."""
    query = request.query_params
    archived = "include" if _flag(query, "include_archived") else query.get("archived", "exclude")
    conditions = {"exclude": ["archived = 0"], "only": ["archived = 1"]}.get(archived, [])
    return conditions + ([] if _is_admin(request) else ["0 = 1"]), []


def _stories_seen(request: Request) -> Filters:
    query = request.query_params
    conditions = [] if _flag(query, "all_on_account") and _is_admin(request) else ["0 = 1"]
    if not _flag(query, "show_from_archived_workspaces"):
        conditions.append("workspace_id in (select id from kantata_workspaces where archived = 0)")
    if query.get("workspace_id"):
        conditions.append("workspace_id = ?")
        return conditions, [query["workspace_id"]]
    return conditions, []


def _assignments_seen(request: Request) -> Filters:
    conditions = [] if _is_admin(request) else ["0 = 1"]
    if request.query_params.get("in_unarchived_workspaces", "true").lower() != "false":
        conditions.append(
            "story_id in (select s.id from kantata_stories s join kantata_workspaces w "
            "on w.id = s.workspace_id where w.archived = 0)"
        )
    return conditions, []


def _users_seen(request: Request) -> Filters:
    """Users who take part in a project (here: are assigned to one), or all on the account."""
    if _flag(request.query_params, "on_my_account"):
        return [], []
    return ["id in (select assignee_id from kantata_assignments)"], []


def _everything(request: Request) -> Filters:
    return [], []


@dataclass(frozen=True)
class Collection:
    table: str
    render: Callable[[Row, ZoneInfo], dict]
    orders: tuple[str, ...]  # the sort fields Kantata takes here; the first is the default
    seen: Callable[[Request], Filters] = _everything
    stamped: bool = True  # has updated_at, and so `updated_after`
    needs: tuple[str, ...] = field(default=())  # permissions without which it answers 403


UPDATED = ("updated_at:asc", "updated_at:desc", "created_at:asc", "created_at:desc")
COLLECTIONS = {
    "workspaces": Collection(
        "kantata_workspaces", _workspace, ("id:asc", *UPDATED), _workspaces_seen
    ),
    "stories": Collection("kantata_stories", _story, ("id:asc", *UPDATED), _stories_seen),
    "assignments": Collection(
        "kantata_assignments", _assignment, ("id:asc", *UPDATED), _assignments_seen
    ),
    "users": Collection("kantata_users", _user, ("id:asc",), _users_seen, stamped=False),
    "roles": Collection("kantata_roles", _role, ("id:asc",), stamped=False),
    "rate_card_sets": Collection(
        "kantata_rate_card_sets",
        _rate_card_set,
        ("id:asc",),
        stamped=False,
        needs=(FINANCIAL_ACCESS,),
    ),
    "rate_cards": Collection(
        "kantata_rate_cards", _rate_card, ("id:asc",), stamped=False, needs=(FINANCIAL_ACCESS,)
    ),
    "rate_card_set_versions": Collection(
        "kantata_rate_card_set_versions",
        _rate_card_set_version,
        ("created_at:desc", "created_at:asc"),
        needs=(FINANCIAL_ACCESS, ADMINISTRATOR),
    ),
    "rate_card_versions": Collection(
        "kantata_rate_card_versions",
        _rate_card_version,
        ("created_at:desc", "created_at:asc"),
        needs=(FINANCIAL_ACCESS, ADMINISTRATOR),
    ),
    "rate_card_roles": Collection(
        "kantata_rate_card_roles",
        _rate_card_role,
        ("created_at:asc", "created_at:desc"),
        needs=(FINANCIAL_ACCESS, ADMINISTRATOR),
    ),
}

router = APIRouter()
api = APIRouter(prefix="/kantata/api/v1")
account = APIRouter(prefix="/_sandbox/kantata")


def kantata_error(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse({"errors": [{"type": kind, "message": message}]}, status_code=status)


def _refused(request: Request) -> JSONResponse | None:
    """The bearer token checked as every sandbox system does (401 without, 403 wrong), with
    Kantata's error body."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return kantata_error(401, "oauth", "Invalid OAuth 2 Request")
    if not secrets.compare_digest(token.encode(), request.app.state.token.encode()):
        return kantata_error(403, "oauth", "The bearer token is not valid for this account.")
    return None


def account_zone(request: Request) -> ZoneInfo:
    return ZoneInfo(getattr(request.app.state, "kantata_time_zone", DEFAULT_TIME_ZONE))


def set_account_time_zone(app, name: str) -> None:
    """The Kantata account's time zone preference (an IANA name): every stamp is shown in it."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {name!r}: give an IANA name") from error
    app.state.kantata_time_zone = name


class BadRequest(ValueError):
    """A request Kantata answers 400."""


def _int_param(query, name: str, default: int, high: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= high:
        raise BadRequest(f"{name} must be a whole number from 1 to {high}, not {raw!r}")
    return int(raw)


def _instant(raw: str, zone: ZoneInfo) -> str:
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as error:
        raise BadRequest(f"updated_after must be an ISO 8601 datetime, not {raw!r}") from error
    return iso(moment if moment.tzinfo else moment.replace(tzinfo=zone))


def _order_sql(collection: Collection, order: str | None) -> str:
    order = order or collection.orders[0]
    if order not in collection.orders:
        raise BadRequest(
            f"{order!r} is not a valid order here; valid: {', '.join(collection.orders)}"
        )
    name, direction = order.split(":")
    return f"{name} {direction}, id {direction}"


def _page(request: Request, name: str) -> dict:
    collection, query, zone = COLLECTIONS[name], request.query_params, account_zone(request)
    page = _int_param(query, "page", 1, 1_000_000)
    per_page = _int_param(query, "per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE)
    order = _order_sql(collection, query.get("order"))
    conditions, params = collection.seen(request)
    if collection.stamped and query.get("updated_after"):
        conditions.append("updated_at > ?")
        params.append(_instant(query["updated_after"], zone))
    where = f"where {' and '.join(conditions)}" if conditions else ""
    with request.app.state.store.snapshot() as conn:
        total = conn.execute(f"select count(*) from {collection.table} {where}", params).fetchone()[
            0
        ]
        rows = conn.execute(
            f"select * from {collection.table} {where} order by {order} limit ? offset ?",
            [*params, per_page, (page - 1) * per_page],
        ).fetchall()
    records = [collection.render(row, zone) for row in rows]
    return {
        "count": total,
        "results": [{"key": name, "id": r["id"]} for r in records],
        name: {r["id"]: r for r in records},
        "meta": {
            "count": total,
            "page_count": math.ceil(total / per_page),
            "page_number": page,
            "page_size": per_page,
        },
    }


def _endpoint(name: str):
    def list_collection(request: Request):
        refused = _refused(request)
        if refused is not None:
            return refused
        missing = [p for p in COLLECTIONS[name].needs if lacks(request, "kantata", p)]
        if missing:
            return kantata_error(
                403, "system", f"You need {missing[0]} on the account to view {name}."
            )
        try:
            return _page(request, name)
        except BadRequest as error:
            return kantata_error(400, "system", str(error))

    list_collection.__name__ = f"list_{name}"
    list_collection.__doc__ = f"Kantata {name}, side-loaded, paged by page / per_page."
    return list_collection


@api.get("/users/me.json")
def me(request: Request):
    """The token's user; `include=account_membership` side-loads its account permission."""
    refused = _refused(request)
    if refused is not None:
        return refused
    user = {"id": API_USER_ID, "full_name": "PSA Pipeline", "email_address": "api@firm.example"}
    body: dict = {"count": 1, "results": [{"key": "users", "id": API_USER_ID}]}
    if "account_membership" in request.query_params.get("include", "").split(","):
        user["account_membership_id"] = API_MEMBERSHIP_ID
        permission = (
            ADMINISTRATOR
            if _is_admin(request)
            else "project_lead"
            if not lacks(request, "kantata", FINANCIAL_ACCESS)
            else "collaborator"
        )
        body["account_memberships"] = {
            API_MEMBERSHIP_ID: {
                "id": API_MEMBERSHIP_ID,
                "user_id": API_USER_ID,
                "permission": permission,
                "is_administrator": permission == ADMINISTRATOR,
            }
        }
    body["users"] = {API_USER_ID: user}
    body["meta"] = {"count": 1, "page_count": 1, "page_number": 1, "page_size": 20}
    return body


for _name in COLLECTIONS:
    api.add_api_route(f"/{_name}.json", _endpoint(_name), methods=["GET"])


@api.api_route("/{path:path}", methods=["GET", "POST", "PUT", "DELETE"], include_in_schema=False)
def not_found(request: Request, path: str):
    """Anything else: Kantata's 404, after the token is checked as for every path."""
    return _refused(request) or kantata_error(404, "system", "Not found")


@account.get("/account")
def account_settings(request: Request) -> dict:
    return {"time_zone": account_zone(request).key}


@account.post("/account")
def set_account_settings(request: Request, settings: Annotated[dict[str, str], Body()]) -> dict:
    """Change the account's preferences: {"time_zone": "<IANA name>"}."""
    if set(settings) - {"time_zone"}:
        raise HTTPException(400, f"unknown settings {sorted(set(settings) - {'time_zone'})}")
    if "time_zone" in settings:
        try:
            set_account_time_zone(request.app, settings["time_zone"])
        except ValueError as error:
            raise HTTPException(400, str(error)) from error
    return account_settings(request)


router.include_router(api)
router.include_router(account)
