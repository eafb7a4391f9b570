"""Where each source system lives, as a Dagster resource."""

from __future__ import annotations

import dagster as dg


class ApiEndpoint(dg.Config):
    base_url: str
    access_token: str
    account_id: str | None = None
    company: str | None = None
    consumer_key: str | None = None  # NetSuite token-based auth
    consumer_secret: str | None = None
    token_id: str | None = None
    token_secret: str | None = None
    date_format: str | None = None  # NetSuite's account date format preference


class SourceSystems(dg.ConfigurableResource):
    """Base URL and credential of every source system (the sandbox, or real tenants)."""

    hubspot: ApiEndpoint
    kantata: ApiEndpoint
    harvest: ApiEndpoint
    bamboohr: ApiEndpoint
    netsuite: ApiEndpoint

    def endpoint(self, system: str) -> ApiEndpoint:
        return getattr(self, system)
