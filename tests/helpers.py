"""Helpers for tests that talk to the sandbox firm over real HTTP on loopback."""

from __future__ import annotations

import atexit
import base64
import dataclasses
import functools
import json
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path

import requests

from psa_pipeline.definitions import dbt_executable
from psa_pipeline.sandbox import hubspot
from psa_pipeline.sandbox.plan import FirmConfig
from psa_pipeline.sandbox.server import SandboxServer, open_firm
from psa_pipeline.settings import (
    DBT_PROJECT_DIR,
    SANDBOX_HARVEST_ACCOUNT_ID,
    SANDBOX_NETSUITE_ACCOUNT_ID,
    SANDBOX_TOKEN,
    Settings,
    SourceEndpoint,
    sandbox_tba,
)
from psa_pipeline.sources.kantata import COLLECTIONS as KANTATA_COLLECTIONS
from psa_pipeline.sources.netsuite import netsuite_auth

SMALL_FIRM = FirmConfig(seed=7, size="small")
AUTH = {"Authorization": f"Bearer {SANDBOX_TOKEN}"}
BAMBOOHR_AUTH = {
    "Authorization": "Basic " + base64.b64encode(f"{SANDBOX_TOKEN}:x".encode()).decode()
}
BAMBOOHR = "/bamboohr/api/gateway.php/psa-sandbox/v1"
HARVEST_AUTH = AUTH | {"Harvest-Account-Id": SANDBOX_HARVEST_ACCOUNT_ID}
# the sandbox ERP's token-based auth, signed as the connector signs (OAuth 1.0a, HMAC-SHA256)
NETSUITE_TBA = netsuite_auth(
    SourceEndpoint("", "", account_id=SANDBOX_NETSUITE_ACCOUNT_ID, **sandbox_tba())
)
# account date format preferences the NetSuite tests run under (M/D/YYYY is NetSuite's default)
NETSUITE_DATE_FORMATS = ("M/D/YYYY", "DD/MM/YYYY", "DD.MM.YYYY")


def start_sandbox(
    directory, config: FirmConfig = SMALL_FIRM, netsuite_date_format: str = "M/D/YYYY"
) -> SandboxServer:
    """A server on a firm of its own in `directory`, copied from one generated per test run.

    Generating takes seconds and is deterministic, so each configuration is generated once and
    copied; the tests of generation itself call `open_firm` and generate afresh.
    """
    template = open_firm(config, _templates())
    copy = Path(directory) / template.path.name
    if not copy.exists():
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template.path, copy)
    return SandboxServer(
        open_firm(config, directory), netsuite_date_format=netsuite_date_format
    ).start()


@functools.cache
def _templates() -> Path:
    directory = Path(tempfile.mkdtemp(prefix="psa-sandbox-firms-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    return directory


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


# The ERP in the firm's terms, asked as a NetSuite client asks: item lines with billed signs and
# item names, transactions with ISO dates and currency codes (SuiteQL gives ids and the
# account's date format), rates between currency codes.
ERP_ITEM_LINES = (
    "SELECT tl.uniquekey, tl.transaction, tl.linesequencenumber, BUILTIN.DF(tl.item) AS item, "
    "tl.memo, ABS(tl.quantity) AS quantity, tl.rate, ABS(tl.foreignamount) AS foreignamount, "
    "tl.custcol_time_entry_id, tl.custcol_expense_id, tl.custcol_milestone_id "
    "FROM transactionline tl WHERE tl.mainline = 'F'"
)
ERP_TRANSACTIONS = (
    "SELECT t.id, t.tranid, t.type, t.externalid, t.entity, TO_CHAR(t.trandate, 'YYYY-MM-DD') "
    "AS trandate, c.symbol AS currency, t.status, t.memo, t.custbody_project_code, "
    "t.foreigntotal FROM transaction t JOIN currency c ON c.id = t.currency"
)
ERP_RATES = (
    "SELECT b.symbol AS basecurrency, c.symbol AS transactioncurrency, r.exchangerate, "
    "TO_CHAR(r.effectivedate, 'YYYY-MM-DD') AS effectivedate FROM currencyrate r "
    "JOIN currency b ON b.id = r.basecurrency JOIN currency c ON c.id = r.transactioncurrency"
)


def hubspot_objects(server: SandboxServer, object_type: str, **params) -> list[dict]:
    """Every record of a HubSpot object type with every property it has (HubSpot sends only a
    default few unless `properties=` names them), following the `after` cursor."""
    if "properties" not in params:
        params["properties"] = ",".join(hubspot_properties(server, object_type))
    found, after = [], "0"
    while after is not None:
        page = requests.get(
            f"{server.url}/hubspot/crm/v3/objects/{object_type}",
            params={"limit": 100, "after": after, **params},
            headers=AUTH,
            timeout=30,
        ).json()
        found += page["results"]
        after = page.get("paging", {}).get("next", {}).get("after")
    return found


def hubspot_properties(server: SandboxServer, object_type: str) -> list[str]:
    """The properties the sandbox stores for a type: its store table's columns."""
    table = hubspot.OBJECT_TYPES[hubspot.object_type(object_type)].table
    with server.store.connect() as conn:
        columns = conn.execute(f"select * from {table} limit 0").description
    return [column[0] for column in columns if column[0] != "id"]


def harvest_records(server: SandboxServer, collection: str, **params) -> list[dict]:
    """Every record of a Harvest collection, following `links.next`."""
    url, records, params = f"{server.url}/harvest/v2/{collection}", [], {"per_page": 2000, **params}
    while url:
        page = requests.get(url, params=params, headers=HARVEST_AUTH, timeout=30).json()
        records += page[collection]
        url, params = page["links"]["next"], None
    return records


def kantata_records(server: SandboxServer, collection: str, **params) -> list[dict]:
    """Every record of a Kantata collection, in `results` order, from the side-loaded map,
    asked for as the source asks (archived projects, every story and user on the account)."""
    asked = next((c.params for c in KANTATA_COLLECTIONS if c.name == collection), {})
    records, page = [], 1
    while True:
        body = requests.get(
            f"{server.url}/kantata/api/v1/{collection}.json",
            params={"page": page, "per_page": 200, **asked, **params},
            headers=AUTH,
            timeout=30,
        ).json()
        records += [body[collection][r["id"]] for r in body["results"]]
        if page >= body["meta"]["page_count"]:
            return records
        page += 1


def hr_roles_by_email(server: SandboxServer) -> dict[str, str]:
    """Each person's job title in HR, by work e-mail (leavers included)."""
    return hr_field_by_email(server, "jobTitle")


def hr_field_by_email(server: SandboxServer, field: str) -> dict[str, str]:
    """One HR field of each person (jobTitle, department), by work e-mail (leavers included)."""
    report = requests.post(
        f"{server.url}{BAMBOOHR}/reports/custom",
        params={"format": "JSON"},
        json={"fields": ["id", "workEmail", field]},
        headers=BAMBOOHR_AUTH,
        timeout=30,
    ).json()["employees"]
    return {e["workEmail"]: e[field] for e in report}


def corrupted(config: FirmConfig = SMALL_FIRM, malformed_records: int = 1) -> FirmConfig:
    """The same firm with a few records re-written broken (the first: a day of over 24 hours)."""
    return dataclasses.replace(
        config, defects=dataclasses.replace(config.defects, malformed_records=malformed_records)
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


def firm_invoices(server, count=2) -> list[sqlite3.Row]:
    """An invoice of the firm's (id, entity, currency) for each of `count` customers."""
    with server.store.connect() as conn:
        return conn.execute(
            "select min(id) as id, entity, currency from netsuite_transaction "
            "where type = 'CustInvc' group by entity order by entity limit ?",
            (count,),
        ).fetchall()


def correction_lines() -> dict:
    """A line of each kind a correction bills or credits, each naming its correction."""
    line = {"item": {"refName": "Professional Services"}, "quantity": "1", "rate": "10.00"}
    return {
        "items": [
            line
            | {
                "amount": "10.00",
                "custcol_time_entry_id": 1,
                "custcol_psa_correction_id": "c-time",
            },
            line
            | {"amount": "10.00", "custcol_expense_id": 2, "custcol_psa_correction_id": "c-exp"},
            line
            | {"amount": "10.00", "custcol_milestone_id": 3, "custcol_psa_correction_id": "c-ms"},
        ]
    }


def credit_memo_body(invoice, *applied: tuple[str, str]) -> dict:
    """A credit memo of 30.00 for the invoice's customer, created from it and applied to the
    invoices and amounts `applied` names."""
    return invoice_body() | {
        "entity": {"id": str(invoice["entity"])},
        "currency": {"refName": invoice["currency"]},
        "item": correction_lines(),
        "createdFrom": {"id": str(invoice["id"])},
        "apply": {
            "items": [
                {"doc": {"id": doc}, "apply": True, "amount": amount} for doc, amount in applied
            ]
        },
    }


def put_record(server, record_type, external_id, body) -> requests.Response:
    return requests.put(
        f"{server.url}/netsuite/services/rest/record/v1/{record_type}/eid:{external_id}",
        json=body,
        headers=AUTH,
        timeout=30,
    )


def read_record(server, record_type, external_id) -> dict:
    return requests.get(
        f"{server.url}/netsuite/services/rest/record/v1/{record_type}/eid:{external_id}",
        headers=AUTH,
        timeout=30,
    ).json()


def dbt(command: str, work_dir: Path, warehouse: Path, *args: str) -> str:
    """Run dbt as the product does, on a DuckDB warehouse named in --vars; return its output.

    In a process of its own: dbt-duckdb keeps its connection to the file open in the process
    that ran it, so a reader in the same process could not open it. Target and logs go to
    `work_dir`, never the project's own target/, which `make` and other runs use.
    """
    done = subprocess.run(
        [
            dbt_executable(),
            *command.split(),  # "build", or "docs generate"
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target",
            "duckdb",
            "--target-path",
            str(Path(work_dir) / "target"),
            "--log-path",
            str(Path(work_dir) / "logs"),
            "--vars",
            json.dumps({"warehouse_path": str(warehouse)}),
            *args,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, f"dbt {command} failed:\n{done.stdout[-20_000:]}{done.stderr}"
    return done.stdout
