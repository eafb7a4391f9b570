"""HubSpot CRM v3: deals.

Incremental reads go through the search endpoint filtered on `hs_lastmodifieddate >= cursor`
and sorted ascending, paged by the cursor HubSpot returns in `paging.next.after` and takes back
in the JSON body. A filtered search stops at 10,000 results; a backlog larger than that must be
walked in date windows (not needed for the firms this has met yet).
"""

from __future__ import annotations

import dlt
from dlt.sources.helpers.rest_client.paginators import JSONResponseCursorPaginator
from dlt.sources.rest_api import RESTAPIConfig, rest_api_resources

from psa_pipeline.sources import INITIAL_CURSOR

PAGE_SIZE = 100  # HubSpot's maximum
DEAL_PROPERTIES = [
    "dealname",
    "amount",
    "deal_currency_code",
    "dealstage",
    "pipeline",
    "closedate",
    "psa_project_code",
    "createdate",
    "hs_lastmodifieddate",
]


@dlt.source(name="hubspot")
def hubspot_source(base_url: str = dlt.config.value, access_token: str = dlt.secrets.value):
    """Yields `deals`: one row per deal, its properties flattened to `properties__<name>`."""
    config: RESTAPIConfig = {
        "client": {
            "base_url": base_url.rstrip("/") + "/",
            "auth": {"type": "bearer", "token": access_token},
        },
        "resource_defaults": {"write_disposition": "merge", "primary_key": "id"},
        "resources": [
            {
                "name": "deals",
                "endpoint": {
                    "path": "crm/v3/objects/deals/search",
                    "method": "POST",
                    "json": {
                        "filterGroups": [
                            {
                                "filters": [
                                    {
                                        "propertyName": "hs_lastmodifieddate",
                                        "operator": "GTE",
                                        "value": "{incremental.start_value}",
                                    }
                                ]
                            }
                        ],
                        "sorts": [
                            {"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}
                        ],
                        "properties": DEAL_PROPERTIES,
                        "limit": PAGE_SIZE,
                    },
                    "paginator": JSONResponseCursorPaginator(
                        cursor_path="paging.next.after", cursor_body_path="after"
                    ),
                    "data_selector": "results",
                    "incremental": {"cursor_path": "updatedAt", "initial_value": INITIAL_CURSOR},
                },
            },
        ],
    }
    yield from rest_api_resources(config)
