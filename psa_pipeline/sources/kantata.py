"""Kantata OX (formerly Mavenlink): workspaces, stories, assignments, rate cards and users.

Every collection is `GET api/v1/<collection>.json` with the bearer token, paged by `page` /
`per_page` (at most 200) until `meta.page_count`. Kantata side-loads: a page's `results` is the
ordered list of `{key, id}` references and the records sit in id-keyed maps named after their
collection, so each page is turned back into its records in `results` order. Runs are
incremental on `updated_after` (Kantata compares strictly, so the newest record already loaded
is not asked for again) ordered by `updated_at:asc`, and merge on `id`. Ids arrive as strings.
"""

from __future__ import annotations

from collections.abc import Iterator

import dlt
from dlt.sources.helpers.rest_client.paginators import PageNumberPaginator
from dlt.sources.rest_api import RESTAPIConfig, rest_api_resources

from psa_pipeline.sources import INITIAL_CURSOR

PAGE_SIZE = 200  # Kantata's maximum
COLLECTIONS = ("workspaces", "stories", "assignments", "rate_cards", "users")


def _side_loaded_records(page: dict) -> Iterator[dict]:
    """The page's records in `results` order, each looked up in the map its key names."""
    for reference in page["results"]:
        yield page[reference["key"]][reference["id"]]


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
            "incremental": {"cursor_path": "updated_at", "initial_value": INITIAL_CURSOR},
        },
        # dlt runs the incremental cursor after this step, so it sees records, not pages
        "processing_steps": [{"yield_map": _side_loaded_records}],
    }


@dlt.source(name="kantata")
def kantata_source(base_url: str = dlt.config.value, access_token: str = dlt.secrets.value):
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
    yield from rest_api_resources(config)
