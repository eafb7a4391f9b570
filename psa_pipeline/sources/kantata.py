"""Kantata OX (formerly Mavenlink): workspaces, stories, assignments, rate cards and users.

Every collection is `GET api/v1/<collection>.json` with the bearer token, paged by `page` /
`per_page` (at most 200) until `meta.page_count`. Kantata side-loads: a page's `results` is the
ordered list of `{key, id}` references and the records sit in id-keyed maps named after their
collection, so each page is turned back into its records in `results` order. Runs are
incremental on `updated_after`, asked from a second before the cursor (Kantata compares
strictly) and ordered by `updated_at:asc`, and merge on `id`. Ids arrive as strings.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import dlt
from dlt.sources.helpers.rest_client.auth import BearerTokenAuth
from dlt.sources.helpers.rest_client.paginators import PageNumberPaginator
from dlt.sources.rest_api import RESTAPIConfig

from psa_pipeline.settings import SourceEndpoint
from psa_pipeline.sources import INITIAL_CURSOR
from psa_pipeline.sources.landing import IngestStats, PageFormat, landed_resources
from psa_pipeline.sources.probes import Probe, SourceProbes, json_with

PAGE_SIZE = 200  # Kantata's maximum
COLLECTIONS = ("workspaces", "stories", "assignments", "rate_cards", "users")


def _side_loaded_records(page: dict) -> Iterator[dict]:
    """The page's records in `results` order, each looked up in the map its key names."""
    for reference in page["results"]:
        yield page[reference["key"]][reference["id"]]


def _a_second_before(cursor: str) -> str:
    """What to ask `updated_after` for: Kantata compares strictly, so asking for the cursor
    itself would never return a record saved in the cursor's second after the last run read it.
    Asking from a second before re-reads that second; dlt's cursor drops what is older than the
    cursor and the records at the cursor it has already loaded, and keeps the new ones."""
    at = datetime.fromisoformat(cursor.replace("Z", "+00:00")) - timedelta(seconds=1)
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _collection_resource(collection: str) -> dict:
    return {
        "name": collection,
        "endpoint": {
            "path": f"api/v1/{collection}.json",
            "params": {
                "per_page": PAGE_SIZE,
                "order": "updated_at:asc",
                "updated_after": "{incremental.start_value}",
            },
            "paginator": PageNumberPaginator(
                base_page=1, page_param="page", total_path="meta.page_count"
            ),
            "data_selector": "$",  # the whole page: the records are spread over two keys
            "incremental": {
                "cursor_path": "updated_at",
                "initial_value": INITIAL_CURSOR,
                "convert": _a_second_before,
            },
        },
        # dlt runs the incremental cursor after this step, so it sees records, not pages
        "records_of_page": _side_loaded_records,
        "columns": {"id": {"data_type": "text"}},
    }


@dlt.source(name="kantata")
def kantata_source(
    base_url: str = dlt.config.value,
    access_token: str = dlt.secrets.value,
    page_format: PageFormat = "arrow",
    stats: IngestStats | None = None,
):
    """Yields one table per collection, one row per record.

    `workspaces` (projects), `stories` (tasks and milestones; `budget_estimate_in_cents` only on
    milestones), `assignments` (a user on a task), `rate_cards` (a workspace's bill rate per
    role from its effective date, `rate_in_cents`) and `users`.
    """
    config: RESTAPIConfig = {
        "client": {
            "base_url": base_url.rstrip("/") + "/",
            "auth": {"type": "bearer", "token": access_token},
        },
        "resource_defaults": {"write_disposition": "merge", "primary_key": "id"},
        "resources": [_collection_resource(collection) for collection in COLLECTIONS],
    }
    yield from landed_resources(config, "kantata", None, stats, page_format)


def probes(endpoint: SourceEndpoint) -> SourceProbes:
    """One record of each collection the source reads."""
    return SourceProbes(
        base_url=endpoint.base_url.rstrip("/") + "/",
        auth=BearerTokenAuth(endpoint.access_token),
        headers={},
        probes=tuple(
            Probe(
                collection.replace("_", " "),
                "GET",
                f"api/v1/{collection}.json",
                json_with("results", "meta"),
                params={"per_page": 1},
                permission=f"a Kantata user who can see every project's {collection}",
            )
            for collection in COLLECTIONS
        ),
        settings_hint="SOURCES__KANTATA__BASE_URL, SOURCES__KANTATA__ACCESS_TOKEN",
    )
