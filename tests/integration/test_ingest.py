"""The dlt assets load the sandbox into a real DuckDB file, once, then incrementally."""

import json
import math
from urllib.parse import quote

import dagster as dg
import duckdb
import requests

from psa_pipeline.definitions import build_definitions
from psa_pipeline.ingest.assets import ingest_assets
from tests.helpers import settings_for

RAW_TO_STORE = {  # raw table -> the store rows it should hold
    "raw_hubspot.deals": "hubspot_deals",
    "raw_harvest.time_entries": "harvest_time_entries",
    "raw_netsuite.invoices": "netsuite_transaction where type = 'CustInvc'",
    "raw_netsuite.invoice_lines": "netsuite_transactionline",
}
KEYS = {
    "raw_hubspot.deals": "id",
    "raw_harvest.time_entries": "id",
    "raw_netsuite.invoices": "id",
    "raw_netsuite.invoice_lines": "uniquekey",
}


def requests_made(server) -> list[dict]:
    return requests.get(f"{server.url}/_sandbox/requests", timeout=10).json()["requests"]


def request_counts(log: list[dict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for entry in log:
        counts[entry["path"]] = counts.get(entry["path"], 0) + 1
    return counts


def store_count(server, table: str) -> int:
    with server.store.connect() as store:
        return store.execute(f"select count(*) from {table}").fetchone()[0]


def newest(server, column: str, table: str) -> str:
    with server.store.connect() as store:
        return store.execute(f"select max({column}) from {table}").fetchone()[0]


def assert_raw_tables_equal_the_sandbox(settings, server) -> None:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        for raw, table in RAW_TO_STORE.items():
            rows, distinct = conn.execute(
                f"select count(*), count(distinct {KEYS[raw]}) from {raw}"
            ).fetchone()
            assert rows == distinct == store_count(server, table), raw


def test_every_record_lands_once_and_a_rerun_asks_only_for_changes(sandbox, tmp_path):
    settings = settings_for(sandbox, tmp_path / "data")
    resources = build_definitions(settings).resources

    def ingest() -> list[dict]:
        requests.delete(f"{sandbox.url}/_sandbox/requests", timeout=10)
        result = dg.materialize(ingest_assets, resources=resources, instance=instance)
        assert result.success
        return requests_made(sandbox)

    with dg.instance_for_test() as instance:
        full_load = ingest()
        assert_raw_tables_equal_the_sandbox(settings, sandbox)
        pages = math.ceil(store_count(sandbox, "harvest_time_entries") / 2000)
        assert request_counts(full_load)["/harvest/v2/time_entries"] == pages > 1
        # SuiteQL pages are keyed (a query returns at most 100,000 rows, however paged)
        suiteql = [e for e in full_load if e["path"].endswith("/suiteql")]
        line_pages = math.ceil(store_count(sandbox, "netsuite_transactionline") / 1000)
        assert sum("uniquekey > " in e["body"] for e in suiteql) == line_pages - 1 > 0
        assert not any("offset=" in e["query"] for e in suiteql)

        # nothing changed, so every incremental query fits in one page per resource...
        newest_deal = newest(sandbox, "hs_lastmodifieddate", "hubspot_deals")
        newest_entry = newest(sandbox, "updated_at", "harvest_time_entries")
        newest_invoice = newest(sandbox, "lastmodifieddate", "netsuite_transaction")
        rerun = ingest()
        assert request_counts(rerun) == {
            "/hubspot/crm/v3/objects/deals/search": 1,
            "/harvest/v2/time_entries": 1,
            "/netsuite/services/rest/query/v1/suiteql": 2,
        }
        # ...because each asked only for what changed since the newest record it already had
        sent = " ".join(entry["query"] + " " + entry["body"] for entry in rerun)
        deal_filter = {
            "propertyName": "hs_lastmodifieddate",
            "operator": "GTE",
            "value": newest_deal,
        }
        assert json.dumps(deal_filter) in sent
        assert "updated_since=" + quote(newest_entry, safe="") in sent
        assert f"lastmodifieddate >= '{newest_invoice}'" in sent

        # three weeks pass: new time, approvals of old time, an invoice run; all of it, once
        requests.post(f"{sandbox.url}/_sandbox/advance", params={"days": 21}, timeout=60)
        after_advance = ingest()
        assert_raw_tables_equal_the_sandbox(settings, sandbox)
        assert "updated_since=" + quote(newest_entry, safe="") in " ".join(
            e["query"] for e in after_advance
        )
