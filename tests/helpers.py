"""Helpers for tests that talk to the sandbox firm over real HTTP on loopback."""

from __future__ import annotations

import base64

import requests

from psa_pipeline.sandbox.firm import DefectRates, FirmConfig
from psa_pipeline.sandbox.server import SandboxServer, open_firm
from psa_pipeline.settings import SANDBOX_HARVEST_ACCOUNT_ID, SANDBOX_TOKEN, Settings

SMALL_FIRM = FirmConfig(seed=7, size="small")
AUTH = {"Authorization": f"Bearer {SANDBOX_TOKEN}"}
BAMBOOHR_AUTH = {
    "Authorization": "Basic " + base64.b64encode(f"{SANDBOX_TOKEN}:x".encode()).decode()
}
BAMBOOHR = "/bamboohr/api/gateway.php/psa-sandbox/v1"
HARVEST_AUTH = AUTH | {"Harvest-Account-Id": SANDBOX_HARVEST_ACCOUNT_ID}


def start_sandbox(directory, config: FirmConfig = SMALL_FIRM) -> SandboxServer:
    return SandboxServer(open_firm(config, directory)).start()


def settings_for(server: SandboxServer, data_dir) -> Settings:
    return Settings(data_dir=data_dir).with_sandbox(server.url)


def truth(server: SandboxServer, kind: str | None = None) -> list[dict]:
    defects = requests.get(f"{server.url}/_sandbox/truth", timeout=10).json()["defects"]
    return [d for d in defects if kind is None or d["kind"] == kind]


def suiteql(server: SandboxServer, query: str) -> list[dict]:
    """Every row a SuiteQL query returns, following the next links."""
    url, rows = f"{server.url}/netsuite/services/rest/query/v1/suiteql", []
    while url:
        page = requests.post(
            url, json={"q": query}, headers=AUTH | {"Prefer": "transient"}, timeout=10
        )
        page.raise_for_status()
        body = page.json()
        rows += body["items"]
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
    return rows


def corrupted(config: FirmConfig = SMALL_FIRM, impossible_hours: int = 1) -> FirmConfig:
    """The same firm with a few time entries re-recorded with impossible hours."""
    return FirmConfig(
        seed=config.seed,
        size=config.size,
        defects=DefectRates(
            unbilled_time=config.defects.unbilled_time, impossible_hours=impossible_hours
        ),
    )


def invoice_body(amount="750.00", quantity="5") -> dict:
    """An invoice as a client would PUT or POST it to the sandbox ERP."""
    return {
        "entity": {"id": "5001"},
        "tranDate": "2026-06-30",
        "currency": {"refName": "USD"},
        "memo": "test",
        "custbody_project_code": "PRJ-1001",
        "item": {
            "items": [
                {
                    "item": {"refName": "Professional Services"},
                    "quantity": quantity,
                    "rate": "150.00",
                    "amount": amount,
                    "custcol_time_entry_id": 1,
                }
            ]
        },
    }
