"""Kantata OX (formerly Mavenlink): workspaces, stories, assignments, users and the rate cards.

Every collection is `GET api/v1/<collection>.json` with the OAuth bearer token, paged by `page` /
`per_page` (at most 200). Kantata side-loads: a page's `results` is the ordered list of `{key,
id}` references and the records sit in id-keyed maps named after their collection, so each
page is turned back into its records in `results` order. Ids are strings, references too.

Timestamps carry the account's UTC offset (`2018-07-24T19:13:52-07:00`), which moves with
daylight saving time: every `created_at` / `updated_at` is rewritten to one UTC form before
dlt's cursor sees it, so the cursor compares instants. Workspaces, stories and assignments are
read incrementally: `updated_after` (strictly after) asked as a UTC instant a second before the
cursor, `order=updated_at:asc`. Users carry no stamps, and the rate card objects are few and
sortable only by creation, so those collections are read whole each run (merged on id).

Kantata leaves things out of a list unless asked: archived projects, stories outside the
requester's projects and in archived ones, assignments in archived projects, users on no
project. The source asks for all of them; the token's user must be an account Administrator
(rate card set versions, rate card versions and rate card roles answer 403 to anyone else).

Sources (fields read, per collection; where they disagree, the newer reference wins):
- paging, `results` + maps, `meta`: developer.kantata.com/kantata/specification/section/response-format
  and the 200 schema of every list endpoint there (`count`, `meta.count/page_count/page_number/
  page_size`); mavenlink/mavenlink_ruby spec/fixtures/*.yml (2013 answers: no `meta`, so pages
  are also counted from `count`); mavenlink/mavenlink_gem spec/lib/mavenlink/client_spec.rb
  (an empty answer: count 0, no results, an empty map).
- errors `{"errors": [{type, message}]}`: the 4xx schemas of the same reference;
  mavenlink_gem spec/lib/mavenlink/request_spec.rb; mavenlink_ruby spec/fixtures/workspaces.yml
  (a 401: type `oauth`, "Invalid OAuth 2 Request").
- `updated_after`: the reference's filter text on its list endpoints ("Filter for records
  updated after a specified datetime", ISO 8601), read as strict; `order=<field>:<direction>`:
  the reference's `order` text ("valid values: created_at:asc ...") and mavenlink_gem
  lib/mavenlink/request.rb. That `updated_at` is a valid sort field of workspaces, stories and
  assignments was not found in the stored reference pages: the older Mavenlink pages list it for
  other collections.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import dlt
import requests
from dlt.sources.helpers.rest_client.auth import BearerTokenAuth
from dlt.sources.helpers.rest_client.paginators import PageNumberPaginator
from dlt.sources.rest_api import RESTAPIConfig

from psa_pipeline.settings import SourceEndpoint
from psa_pipeline.sources import INITIAL_CURSOR
from psa_pipeline.sources.landing import (
    IngestStats,
    PageFormat,
    RecordRules,
    in_utc,
    landed_resources,
)
from psa_pipeline.sources.probes import Probe, SourceProbes

PAGE_SIZE = 200  # Kantata's maximum
TEXT, BIGINT, BOOL = {"data_type": "text"}, {"data_type": "bigint"}, {"data_type": "bool"}
STAMP = {"data_type": "timestamp"}
STAMPED = {"created_at": STAMP, "updated_at": STAMP}
ADMINISTRATOR = "an Administrator on the Kantata account"
FINANCIAL = "Financial access (Project Lead or higher) on the Kantata account"


@dataclass(frozen=True)
class Collection:
    """One Kantata list endpoint as the source reads it."""

    name: str
    columns: Mapping[str, Mapping[str, Any]]  # every field staging reads, typed
    params: Mapping[str, Any] = field(default_factory=dict)  # what makes the list complete
    incremental: bool = False  # on `updated_after`; else read whole
    needs: str = ADMINISTRATOR  # who sees all of it, in Kantata's words
    rules: RecordRules = RecordRules()


COLLECTIONS = (
    # developer.kantata.com/tag/Workspaces (include_archived; status {color, key, message});
    # singer-io/tap-mavenlink tap_mavenlink/schemas/workspaces.json; mavenlink_gem
    # lib/config/specification.yml `workspaces` (rate_card_id, currency, dates)
    Collection(
        "workspaces",
        {
            "id": TEXT,
            "title": TEXT,
            "archived": BOOL,
            "status__color": TEXT,
            "status__key": BIGINT,
            "status__message": TEXT,
            "start_date": TEXT,
            "due_date": TEXT,
            "currency": TEXT,
            "rate_card_id": TEXT,
            **STAMPED,
        },
        {"include_archived": "true"},
        incremental=True,
        rules=RecordRules(currencies=("currency",)),
    ),
    # developer.kantata.com/kantata/specification/stories/get-stories (all_on_account);
    # tap-mavenlink schemas/stories.json and streams/stories.py (show_archived,
    # show_from_archived_workspaces); mavenlink_ruby spec/fixtures/stories.yml
    Collection(
        "stories",
        {
            "id": TEXT,
            "workspace_id": TEXT,
            "parent_id": TEXT,
            "title": TEXT,
            "story_type": TEXT,
            "state": TEXT,
            "archived": BOOL,
            "start_date": TEXT,
            "due_date": TEXT,
            "budget_estimate_in_cents": BIGINT,
            **STAMPED,
        },
        {
            "all_on_account": "true",
            "show_archived": "true",
            "show_from_archived_workspaces": "true",
        },
        incremental=True,
        rules=RecordRules(numbers={"budget_estimate_in_cents": (0, None)}),
    ),
    # mavenlink_gem specification.yml `assignments` (story_id, assignee_id: no workspace);
    # tap-mavenlink schemas/assignments.json and streams/assignments.py (the two filters)
    Collection(
        "assignments",
        {"id": TEXT, "story_id": TEXT, "assignee_id": TEXT, "current": BOOL, **STAMPED},
        {"in_unarchived_workspaces": "false", "in_unarchived_stories": "false"},
        incremental=True,
    ),
    # developer.kantata.com/kantata/specification/users/get-users (on_my_account; the user
    # object has no created_at / updated_at); tap-mavenlink schemas/users.json (disabled)
    Collection(
        "users",
        {"id": TEXT, "full_name": TEXT, "email_address": TEXT, "headline": TEXT, "disabled": BOOL},
        {"on_my_account": "true"},
        needs="",
    ),
    # mavenlink_gem specification.yml `roles` (id, name)
    Collection("roles", {"id": TEXT, "name": TEXT}, needs=""),
    # developer.kantata.com/kantata/specification/rate-card-sets-(group-of-rate-cards);
    # mavenlink_gem specification.yml `rate_card_sets` (title, account_default)
    Collection(
        "rate_card_sets",
        {"id": TEXT, "title": TEXT, "account_default": BOOL},
        needs=FINANCIAL,
    ),
    # mavenlink_gem specification.yml `rate_cards` (currency, rate_card_set_id)
    Collection(
        "rate_cards",
        {"id": TEXT, "rate_card_set_id": TEXT, "currency": TEXT},
        needs=FINANCIAL,
        rules=RecordRules(currencies=("currency",)),
    ),
    # developer.kantata.com/tag/Rate-Card-Set-Version-(Effective-version-by-Date) (active,
    # created_at, effective_date as a date, rate_card_set_id; Administrators only)
    Collection(
        "rate_card_set_versions",
        {
            "id": TEXT,
            "rate_card_set_id": TEXT,
            "effective_date": TEXT,
            "active": BOOL,
            **STAMPED,
        },
        {"order": "created_at:asc"},
    ),
    # developer.kantata.com/tag/Rate-Card-Versions; mavenlink_gem specification.yml
    # `rate_card_versions` (default_rate, rate_card_id, rate_card_set_version_id)
    Collection(
        "rate_card_versions",
        {
            "id": TEXT,
            "rate_card_id": TEXT,
            "rate_card_set_version_id": TEXT,
            "default_rate": BIGINT,
            **STAMPED,
        },
        {"order": "created_at:asc"},
        rules=RecordRules(numbers={"default_rate": (0, None)}),
    ),
    # developer.kantata.com/kantata/specification/rate-card-role-(rate-for-a-role): rate in
    # cents per hour, rate_card_version_id, role_id (strings), created_at, updated_at;
    # order only by created_at
    Collection(
        "rate_card_roles",
        {"id": TEXT, "rate_card_version_id": TEXT, "role_id": TEXT, "rate": BIGINT, **STAMPED},
        {"order": "created_at:asc"},
        rules=RecordRules(required=("rate",), numbers={"rate": (0, None)}),
    ),
)

_in_utc = in_utc("created_at", "updated_at")


def _side_loaded_records(page: dict, collection: str) -> Iterator[dict]:
    """The page's records in `results` order, each looked up in the map its key names, with
    its stamps as UTC instants."""
    for reference in page.get("results") or ():
        record = (page.get(reference["key"]) or {}).get(reference["id"])
        if record is None:
            raise ValueError(
                f"kantata: a {collection} page lists {reference['key']} {reference['id']} in "
                f"`results` but its `{reference['key']}` map does not hold it"
            )
        yield _in_utc(record)


def _page_count(page: Mapping, page_size: int) -> int:
    """`meta.page_count`, or for an answer without `meta` the pages `count` makes."""
    meta = page.get("meta") or {}
    if meta.get("page_count") is not None:
        return int(meta["page_count"])
    return math.ceil(int(page.get("count") or 0) / page_size)


class SideLoadedPages(PageNumberPaginator):
    """Page after page while the last one had results and `_page_count` says there are more."""

    def __init__(self, page_size: int = PAGE_SIZE):
        super().__init__(base_page=1, page_param="page", stop_after_empty_page=True)
        self.page_size = page_size

    def update_state(self, response: requests.Response, data: list[Any] | None = None) -> None:
        page = response.json()
        self.current_value += 1
        self._has_next_page = bool(page.get("results")) and self.current_value <= _page_count(
            page, self.page_size
        )


def a_second_before(cursor: str) -> str:
    """What to ask `updated_after` for: Kantata compares strictly, so asking for the cursor
    itself would never return a record saved in the cursor's second after the last run read it.
    Asking from a second before re-reads that second; dlt's cursor drops what is older than the
    cursor and the records at the cursor it has already loaded, and keeps the new ones. The
    cursor is a UTC instant (in_utc), and so is what is asked."""
    at = datetime.fromisoformat(cursor.replace("Z", "+00:00")) - timedelta(seconds=1)
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _resource(collection: Collection) -> dict:
    params: dict[str, Any] = {"per_page": PAGE_SIZE, **collection.params}
    endpoint: dict[str, Any] = {
        "path": f"api/v1/{collection.name}.json",
        "params": params,
        "paginator": SideLoadedPages(PAGE_SIZE),
        "data_selector": "$",  # the whole page: the records are spread over two keys
    }
    if collection.incremental:
        params |= {"order": "updated_at:asc", "updated_after": "{incremental.start_value}"}
        endpoint["incremental"] = {
            "cursor_path": "updated_at",
            "initial_value": INITIAL_CURSOR,
            "convert": a_second_before,
            "on_cursor_value_missing": "include",  # kept, not dropped or failed on
        }
    return {
        "name": collection.name,
        "endpoint": endpoint,
        # dlt runs the incremental cursor after this step, so it sees records, not pages
        "records_of_page": lambda page, name=collection.name: _side_loaded_records(page, name),
        # a copy per column: dlt writes the key and the name into the hints it is given
        "columns": {name: dict(hint) for name, hint in collection.columns.items()},
    }


@dlt.source(name="kantata")
def kantata_source(
    base_url: str = dlt.config.value,
    access_token: str = dlt.secrets.value,
    page_format: PageFormat = "arrow",
    stats: IngestStats | None = None,
):
    """Yields one table per collection, one row per record, nested objects flattened
    (`status__message`).

    `workspaces` (projects, archived ones too; `rate_card_id` names the rate card), `stories`
    (tasks and milestones; `budget_estimate_in_cents`), `assignments` (a user on a story),
    `users`, `roles` (the account's), and the rate cards: `rate_card_sets`, `rate_cards` (a
    currency of a set), `rate_card_set_versions` (`effective_date`), `rate_card_versions` (a
    card in a set version) and `rate_card_roles` (`rate`: cents per hour for a role).
    """
    config: RESTAPIConfig = {
        "client": {
            "base_url": base_url.rstrip("/") + "/",
            "auth": {"type": "bearer", "token": access_token},
        },
        "resource_defaults": {"write_disposition": "merge", "primary_key": "id"},
        "resources": [_resource(collection) for collection in COLLECTIONS],
    }
    rules = {collection.name: collection.rules for collection in COLLECTIONS}
    yield from landed_resources(config, "kantata", rules, stats, page_format)


def side_loaded(collection: str, *fields: str) -> Callable[[requests.Response], str | None]:
    """An answer the source reads: JSON with `count` and `results`, each result's record in the
    map its key names, holding these fields."""

    def check(response: requests.Response) -> str | None:
        if "json" not in response.headers.get("Content-Type", ""):
            return f"the answer is {response.headers.get('Content-Type') or 'untyped'}, not JSON"
        try:
            page = response.json()
        except ValueError:
            return "the answer says JSON but does not parse as JSON"
        if not isinstance(page, dict) or "results" not in page or "count" not in page:
            return "the answer has no 'count' and 'results'"
        for reference in page["results"]:
            record = (page.get(reference.get("key")) or {}).get(reference.get("id"))
            if record is None:
                return f"`results` names {reference} but no record is side-loaded for it"
            missing = [name for name in fields if name not in record]
            if missing:
                return f"a {collection} record has no {', '.join(missing)}"
        return None

    return check


def _administrator(response: requests.Response) -> str | None:
    """The token's user must be an account Administrator: anyone else sees only the projects
    they take part in (with no error) and is refused the rate cards."""
    problem = side_loaded("users")(response)
    if problem is not None:
        return problem
    memberships = response.json().get("account_memberships") or {}
    permissions = {m.get("permission") for m in memberships.values()}
    if "administrator" in permissions:
        return None
    held = ", ".join(sorted(p for p in permissions if p)) or "no account membership"
    return (
        f"the token's user is not an account Administrator ({held}): Kantata would list only "
        f"the projects it takes part in and refuse the rate cards"
    )


def probes(endpoint: SourceEndpoint) -> SourceProbes:
    """The token's account permission, then one record of each collection, asked as the source
    asks for it."""
    account = Probe(
        "account permission",
        "GET",
        "api/v1/users/me.json",
        _administrator,
        params={"include": "account_membership"},
        permission=ADMINISTRATOR,
    )
    return SourceProbes(
        base_url=endpoint.base_url.rstrip("/") + "/",
        auth=BearerTokenAuth(endpoint.access_token),
        headers={},
        probes=(
            account,
            *(
                Probe(
                    collection.name.replace("_", " "),
                    "GET",
                    f"api/v1/{collection.name}.json",
                    side_loaded(collection.name, *_probed_fields(collection)),
                    params={**collection.params, "per_page": 1},
                    permission=collection.needs,
                )
                for collection in COLLECTIONS
            ),
        ),
        settings_hint="SOURCES__KANTATA__BASE_URL, SOURCES__KANTATA__ACCESS_TOKEN",
    )


def _probed_fields(collection: Collection) -> tuple[str, ...]:
    """The fields a record must hold: its id, and its cursor where it is read incrementally."""
    return ("id", "updated_at") if collection.incremental else ("id",)
