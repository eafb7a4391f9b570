"""The dlt assets load the sandbox into a real DuckDB file, once, then incrementally."""

import json
import math
from datetime import datetime, timedelta
from urllib.parse import quote

import dagster as dg
import duckdb
import requests

from psa_pipeline.definitions import build_definitions
from psa_pipeline.ingest.assets import ingest_assets
from psa_pipeline.sandbox.hubspot import epoch_ms
from psa_pipeline.settings import SYSTEMS
from psa_pipeline.sources.kantata import COLLECTIONS as KANTATA_COLLECTIONS
from psa_pipeline.sources.netsuite import RESOURCES as NETSUITE_RESOURCES
from tests.helpers import settings_for

KANTATA = tuple(c.name for c in KANTATA_COLLECTIONS)
KANTATA_INCREMENTAL = tuple(c.name for c in KANTATA_COLLECTIONS if c.incremental)
KANTATA_WHOLE = tuple(c.name for c in KANTATA_COLLECTIONS if not c.incremental)  # no stamps
BAMBOOHR = ("employees", "compensation", "time_off")
HARVEST = ("time_entries", "expenses", "users", "clients", "projects", "tasks")
RAW_TO_STORE = {  # raw table -> the store rows it should hold
    "raw_hubspot.deals": "hubspot_deals",
    "raw_hubspot.companies": "hubspot_companies",
    "raw_hubspot.line_items": "hubspot_line_items",
    "raw_hubspot.p_contracts": "hubspot_contracts",
    "raw_hubspot.deal_companies": "hubspot_deals where company_id is not null",
    "raw_netsuite.invoices": "netsuite_transaction where type = 'CustInvc'",
    "raw_netsuite.invoice_lines": "netsuite_transactionline",
    **{f"raw_kantata.{c}": f"kantata_{c}" for c in KANTATA},
    **{f"raw_bamboohr.{r}": f"bamboohr_{r}" for r in BAMBOOHR},
    **{f"raw_harvest.{c}": f"harvest_{c}" for c in HARVEST},
    "raw_netsuite.subsidiaries": "netsuite_subsidiary",
    "raw_netsuite.customers": "netsuite_customer",
    "raw_netsuite.jobs": "netsuite_job",
    "raw_netsuite.credit_memos": "netsuite_transaction where type = 'CustCred'",
    "raw_netsuite.payments": "netsuite_transaction where type = 'CustPymt'",
    "raw_netsuite.transaction_links": "netsuite_previoustransactionlink",
    "raw_netsuite.currency_rates": "netsuite_currencyrate",
    "raw_netsuite.currencies": "suiteql_currency",
}
KEYS = {raw: "id" for raw in RAW_TO_STORE} | {
    "raw_netsuite.invoice_lines": "uniquekey",
    "raw_netsuite.transaction_links": "(nextdoc, previousdoc)",
    "raw_hubspot.deal_companies": "(deal_id, company_id)",
    "raw_bamboohr.compensation": "(employee_id, start_date)",  # BambooHR sends no row id
}
BAMBOOHR_API = "/bamboohr/api/gateway.php/psa-sandbox/v1"


def a_second_before(stamp: str) -> str:
    at = datetime.fromisoformat(stamp.replace("Z", "+00:00")) - timedelta(seconds=1)
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def asked_when_nothing_changed(server) -> dict[str, int]:
    """The requests of an incremental run over an unchanged firm: a page per resource, but
    HubSpot's associations, listed whole (search returns none)."""
    return {
        "/hubspot/crm/v3/objects/deals/search": 1,
        "/hubspot/crm/v3/objects/companies/search": 1,
        **{
            f"/hubspot/crm/v3/objects/{name}": math.ceil(store_count(server, table) / 100)
            for name, table in (
                ("line_items", "hubspot_line_items"),
                ("p_contracts", "hubspot_contracts"),
                ("deals", "hubspot_deals"),  # with their companies
            )
        },
        **{f"/kantata/api/v1/{c}.json": 1 for c in KANTATA_INCREMENTAL},
        **{f"/kantata/api/v1/{c}.json": kantata_pages(server, c) for c in KANTATA_WHOLE},
        **{f"/harvest/v2/{c}": 1 for c in HARVEST},
        f"{BAMBOOHR_API}/reports/custom": 1,
        f"{BAMBOOHR_API}/employees/changed/tables/compensation": 1,
        f"{BAMBOOHR_API}/time_off/requests": 1,
        "/netsuite/services/rest/query/v1/suiteql": len(NETSUITE_RESOURCES),
    }


def kantata_pages(server, collection: str) -> int:
    """Pages of 200 a Kantata collection read whole takes."""
    return math.ceil(store_count(server, f"kantata_{collection}") / 200)


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


def assert_raw_tables_equal_the_sandbox(settings, server, systems=None) -> None:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        for raw, table in RAW_TO_STORE.items():
            if systems and raw.split(".")[0].removeprefix("raw_") not in systems:
                continue
            rows, distinct = conn.execute(
                f"select count(*), count(distinct {KEYS[raw]}) from {raw}"
            ).fetchone()
            assert rows == distinct == store_count(server, table), raw


def materialize(server, settings, instance, assets=ingest_assets) -> list[dict]:
    """Run the ingest assets; return the requests they made."""
    requests.delete(f"{server.url}/_sandbox/requests", timeout=10)
    resources = build_definitions(settings).resources
    assert dg.materialize(assets, resources=resources, instance=instance).success
    return requests_made(server)


def assert_values_equal_the_sandbox(settings, server) -> None:
    """Values, not only rows: fields a vendor leaves out when null, money and flags."""
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        lines = set(
            conn.execute(
                "select uniquekey, custcol_time_entry_id from raw_netsuite.invoice_lines"
            ).fetchall()
        )
        entries = set(
            conn.execute(
                "select id, cast(hours as double), billable, project__id "
                "from raw_harvest.time_entries"
            ).fetchall()
        )
    with server.store.connect() as store:
        stored_lines = {
            (str(key), None if entry is None else str(entry))
            for key, entry in store.execute(
                "select uniquekey, custcol_time_entry_id from netsuite_transactionline"
            )
        }
        stored_entries = {
            (i, h, bool(b), c)
            for i, h, b, c in store.execute(
                "select id, hours, billable, project_id from harvest_time_entries"
            )
        }
    assert lines == stored_lines and any(entry for _, entry in lines)
    assert entries == stored_entries


def assert_each_line_item_and_contract_knows_its_deal(settings, server) -> None:
    """The deal associations (a deal's companies; a line item's or contract's deal) are the
    store's."""
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        pairs = set(
            conn.execute("select deal_id, company_id from raw_hubspot.deal_companies").fetchall()
        )
        with server.store.connect() as store:
            stored_pairs = {
                (str(d), str(c))
                for d, c in store.execute(
                    "select id, company_id from hubspot_deals where company_id is not null"
                )
            }
        assert pairs == stored_pairs and pairs
        for raw, table in (
            ("line_items", "hubspot_line_items"),
            ("p_contracts", "hubspot_contracts"),
        ):
            loaded = set(conn.execute(f"select id, deal_id from raw_hubspot.{raw}").fetchall())
            with server.store.connect() as store:
                stored = {
                    (str(i), str(d)) for i, d in store.execute(f"select id, deal_id from {table}")
                }
            assert loaded == stored and loaded, raw


def test_every_record_lands_once_and_a_rerun_asks_only_for_changes(sandbox, tmp_path):
    settings = settings_for(sandbox, tmp_path / "data")

    def ingest() -> list[dict]:
        return materialize(sandbox, settings, instance)

    with dg.instance_for_test() as instance:
        full_load = ingest()
        assert_raw_tables_equal_the_sandbox(settings, sandbox)
        assert_each_line_item_and_contract_knows_its_deal(settings, sandbox)
        assert_values_equal_the_sandbox(settings, sandbox)
        pages = math.ceil(store_count(sandbox, "harvest_time_entries") / 2000)
        assert request_counts(full_load)["/harvest/v2/time_entries"] == pages > 1
        # SuiteQL pages are keyed (a query returns at most 100,000 rows, however paged)
        suiteql = [e for e in full_load if e["path"].endswith("/suiteql")]
        line_pages = math.ceil(store_count(sandbox, "netsuite_transactionline") / 1000)
        assert sum("uniquekey > " in e["body"] for e in suiteql) == line_pages - 1 > 0
        assert not any("offset=" in e["query"] for e in suiteql)

        # nothing changed, so every incremental query fits in one page per resource...
        newest_deal = max(stamps_of(sandbox, "raw_hubspot.deals").values(), key=epoch_ms)
        newest_entry = newest(sandbox, "updated_at", "harvest_time_entries")
        newest_invoice = newest(sandbox, "lastmodifieddate", "netsuite_transaction")
        rerun = ingest()
        assert request_counts(rerun) == asked_when_nothing_changed(sandbox)
        # ...because each asked only for what changed since the newest record it already had
        sent = " ".join(entry["query"] + " " + entry["body"] for entry in rerun)
        deal_filter = {  # HubSpot's date filters take epoch milliseconds of the instant
            "propertyName": "hs_lastmodifieddate",
            "operator": "GTE",
            "value": str(epoch_ms(newest_deal)),
        }
        assert json.dumps(deal_filter) in sent
        assert "updated_since=" + quote(newest_entry, safe="") in sent
        assert (  # compared as an instant: the UTC text of the newest, read by TO_TIMESTAMP
            f"SYS_EXTRACT_UTC(t.lastmodifieddate) >= TO_TIMESTAMP('{newest_invoice}', " in sent
        )

        # three weeks pass: new time, approvals of old time, an invoice run; all of it, once
        requests.post(f"{sandbox.url}/_sandbox/advance", params={"days": 21}, timeout=60)
        after_advance = ingest()
        assert_raw_tables_equal_the_sandbox(settings, sandbox)
        assert "updated_since=" + quote(newest_entry, safe="") in " ".join(
            e["query"] for e in after_advance
        )


# store table -> the column that moves when a record changes
CHANGE_STAMPS = {f"kantata_{c}": "updated_at" for c in KANTATA_INCREMENTAL} | {
    f"bamboohr_{r}": "last_changed" for r in BAMBOOHR
}


def change_stamps(server) -> dict[str, dict[int, str]]:
    with server.store.connect() as store:
        return {
            table: dict(store.execute(f"select id, {column} from {table}").fetchall())
            for table, column in CHANGE_STAMPS.items()
        }


def rows_in_changed_compensation_tables(server, since: str) -> int:
    """BambooHR's changed-table endpoint returns every row of each employee changed after
    `since` (any change to the employee); the rows of the boundary second were loaded."""
    with server.store.connect() as store:
        return store.execute(
            "select count(*) from bamboohr_compensation where employee_id in "
            "(select id from bamboohr_employees where last_changed > ?)",
            (since,),
        ).fetchone()[0]


def time_off_requests_from_day(server, newest_before: str) -> int:
    """Time off has a day for a cursor: the requests of the newest day come again (no dedup on
    the boundary, so a request approved later that day lands), and every later one."""
    with server.store.connect() as store:
        return store.execute(
            "select count(*) from bamboohr_time_off where substr(last_changed, 1, 10) >= ?",
            (newest_before[:10],),
        ).fetchone()[0]


def load_ids(settings, systems=SYSTEMS) -> set[str]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        return {
            load_id
            for system in systems
            for (load_id,) in conn.execute(
                f"select load_id from raw_{system}._dlt_loads"
            ).fetchall()
        }


def rows_loaded(settings, raw: str, loads: set[str]) -> int:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        placeholders = ", ".join("?" for _ in loads)
        return conn.execute(
            f"select count(*) from {raw} where _dlt_load_id in ({placeholders})", list(loads)
        ).fetchone()[0]


def test_kantata_and_bamboohr_load_every_record_once_then_exactly_the_changes(sandbox, tmp_path):
    settings = settings_for(sandbox, tmp_path / "data")
    assets = [a for a in ingest_assets if a.op.name in ("ingest_kantata", "ingest_bamboohr")]

    def ingest() -> list[dict]:
        return materialize(sandbox, settings, instance, assets)

    with dg.instance_for_test() as instance:
        full_load = ingest()
        assert_raw_tables_equal_the_sandbox(settings, sandbox, systems={"kantata", "bamboohr"})
        # Kantata pages stop at meta.page_count: one request per page of 200, no empty page
        counts = request_counts(full_load)
        for collection in KANTATA:
            pages = kantata_pages(sandbox, collection)
            assert counts[f"/kantata/api/v1/{collection}.json"] == pages, collection
        assert counts["/kantata/api/v1/assignments.json"] > 1

        # a quarter passes: projects open and close, milestones complete, people join or
        # leave, pay changes, leave is requested (the small firm changes every table by then)
        before = change_stamps(sandbox)
        newest = {table: max(stamps.values()) for table, stamps in before.items()}
        requests.post(f"{sandbox.url}/_sandbox/advance", params={"days": 90}, timeout=60)
        after = change_stamps(sandbox)
        changed = {
            table: sum(1 for key, stamp in after[table].items() if before[table].get(key) != stamp)
            for table in CHANGE_STAMPS
        }
        changed["bamboohr_compensation"] = rows_in_changed_compensation_tables(
            sandbox, newest["bamboohr_employees"]
        )
        changed["bamboohr_time_off"] = time_off_requests_from_day(
            sandbox, newest["bamboohr_time_off"]
        )
        assert all(changed.values()), changed

        loaded_before = load_ids(settings, ("kantata", "bamboohr"))
        rerun = ingest()
        assert_raw_tables_equal_the_sandbox(settings, sandbox, systems={"kantata", "bamboohr"})
        new_loads = load_ids(settings, ("kantata", "bamboohr")) - loaded_before
        for raw in RAW_TO_STORE:
            system, table = raw.removeprefix("raw_").split(".")
            if system == "kantata" and table in KANTATA_WHOLE:  # read whole: every record again
                assert rows_loaded(settings, raw, new_loads) == store_count(
                    sandbox, f"kantata_{table}"
                )
            elif system in ("kantata", "bamboohr"):
                assert rows_loaded(settings, raw, new_loads) == changed[f"{system}_{table}"], raw

        # Kantata was asked only for the pages of records updated after the newest it had,
        # from a second before it (Kantata compares strictly), as a UTC instant
        for collection in KANTATA_INCREMENTAL:
            asked = [e["query"] for e in rerun if e["path"].endswith(f"/{collection}.json")]
            pages = max(1, math.ceil(changed[f"kantata_{collection}"] / 200))
            assert len(asked) == pages, collection
            since = quote(a_second_before(newest[f"kantata_{collection}"]), safe="")
            assert all(f"updated_after={since}" in q and "updated_at%3Aasc" in q for q in asked)
        compensation = [e for e in rerun if e["path"].endswith("/tables/compensation")]
        # the cursor is the employee's last change, which a pay change moves too
        assert [e["query"] for e in compensation] == [
            "since=" + quote(newest["bamboohr_employees"], safe="")
        ]
        (report,) = [e for e in rerun if e["path"].endswith("/reports/custom")]
        assert f'"value": "{newest["bamboohr_employees"]}"' in report["body"]

        # a workspace saved within the newest second after the run had read it still lands
        with sandbox.store.connect() as store:
            stamp = store.execute("select max(updated_at) from kantata_workspaces").fetchone()[0]
            store.execute(
                "update kantata_workspaces set title = 'saved in the same second', updated_at = ?"
                " where id = (select min(id) from kantata_workspaces)",
                (stamp,),
            )
        ingest()
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
            titles = conn.execute("select title from raw_kantata.workspaces").fetchall()
        assert ("saved in the same second",) in titles


def test_every_record_lands_once_through_throttling_errors_and_dropped_connections(
    sandbox, tmp_path
):
    """dlt's HTTP client retries 429 / 5xx (honouring Retry-After) and broken connections."""
    plan = {
        system: {"http_429": 0.05, "http_503": 0.05, "http_500": 0.05, "dropped_connection": 0.05}
        for system in ("hubspot", "kantata", "harvest", "bamboohr", "netsuite")
    }
    assert requests.post(f"{sandbox.url}/_sandbox/faults", json=plan, timeout=10).ok
    settings = settings_for(sandbox, tmp_path / "data")
    log = materialize(sandbox, settings, dg.DagsterInstance.ephemeral())
    faults = {entry["fault"] for entry in log} - {None}
    assert {"http_429", "http_503", "http_500", "dropped_connection"} <= faults
    assert_raw_tables_equal_the_sandbox(settings, sandbox)


# the column that moves when a store record changes, by table prefix (most specific first)
STAMPS = {
    "netsuite_transactionline": "linelastmodifieddate",
    "netsuite_": "lastmodifieddate",
    "suiteql_": "lastmodifieddate",
    "hubspot_": "hs_lastmodifieddate",
    "kantata_": "updated_at",
    "harvest_": "updated_at",
    "bamboohr_": "last_changed",
}
LISTED_WHOLE = {"raw_hubspot.line_items", "raw_hubspot.p_contracts", "raw_hubspot.deal_companies"}
# SuiteQL shows no last-modified date on these: read whole every run
NETSUITE_WHOLE = {"raw_netsuite.subsidiaries", "raw_netsuite.currencies"}
READ_WHOLE = (  # no change filter
    LISTED_WHOLE | {f"raw_kantata.{c}" for c in KANTATA_WHOLE} | NETSUITE_WHOLE
)
PAGE_SIZES = {"hubspot": 100, "kantata": 200, "harvest": 2000, "netsuite": 1000}


def stamps_of(server, raw: str) -> dict:
    """Each record of a raw table's store rows: key -> the stamp that moves when it changes."""
    table, _, where = RAW_TO_STORE[raw].partition(" where ")
    stamp = next(column for prefix, column in STAMPS.items() if table.startswith(prefix))
    key = KEYS[raw].strip("()").replace(", ", " || '-' || ")
    with server.store.connect() as store:
        return dict(
            store.execute(
                f"select {key}, {stamp} from {table}" + (f" where {where}" if where else "")
            ).fetchall()
        )


def answered(after: dict, system: str, before: dict) -> int:
    """How many records the vendor's incremental filter returns for the cursor it is sent (the
    newest stamp `before`): Kantata compares strictly from a second before the cursor, the others
    inclusively. HubSpot's stamps leave out zero milliseconds, so they compare as instants."""
    instant = epoch_ms if system == "hubspot" else str
    newest_before = max(before.values(), key=instant)
    since = a_second_before(newest_before) if system == "kantata" else newest_before
    return sum(
        1
        for stamp in after.values()
        if instant(stamp) > instant(since) or instant(stamp) == instant(newest_before)
    )


def test_a_day_later_every_system_asks_for_and_loads_exactly_the_changes(sandbox, tmp_path):
    settings = settings_for(sandbox, tmp_path / "data")
    with dg.instance_for_test() as instance:
        materialize(sandbox, settings, instance)
        before = {raw: stamps_of(sandbox, raw) for raw in RAW_TO_STORE if raw not in READ_WHOLE}
        newest_employee = max(before["raw_bamboohr.employees"].values())
        newest_time_off = max(before["raw_bamboohr.time_off"].values())
        loaded_before = load_ids(settings)

        assert requests.post(f"{sandbox.url}/_sandbox/advance", params={"days": 1}, timeout=60).ok
        log = materialize(sandbox, settings, instance)
        assert_raw_tables_equal_the_sandbox(settings, sandbox)

        new_loads = load_ids(settings) - loaded_before
        changed_somewhere = 0
        suiteql_pages = 0
        for raw, stamps in before.items():
            system, table = raw.removeprefix("raw_").split(".")
            after = stamps_of(sandbox, raw)
            changed = sum(1 for key, stamp in after.items() if stamps.get(key) != stamp)
            if raw == "raw_bamboohr.compensation":  # whole tables of changed employees
                changed = rows_in_changed_compensation_tables(sandbox, newest_employee)
            if raw == "raw_bamboohr.time_off":  # the newest day again, and the changes
                changed = time_off_requests_from_day(sandbox, newest_time_off)
            assert rows_loaded(settings, raw, new_loads) == changed, raw
            changed_somewhere += changed
            if system in PAGE_SIZES:
                returned = answered(after, system, stamps)
                pages = max(1, math.ceil(returned / PAGE_SIZES[system]))
                if system == "netsuite":
                    suiteql_pages += pages
                    continue
                path = {
                    "hubspot": f"/hubspot/crm/v3/objects/{table}/search",
                    "kantata": f"/kantata/api/v1/{table}.json",
                    "harvest": f"/harvest/v2/{table}",
                }[system]
                assert request_counts(log)[path] == pages, raw
        assert changed_somewhere > 0
        for collection in KANTATA_WHOLE:  # a page per 200 records, every run
            path = f"/kantata/api/v1/{collection}.json"
            assert request_counts(log)[path] == kantata_pages(sandbox, collection)
        for raw in NETSUITE_WHOLE:  # every row again, a page each
            assert rows_loaded(settings, raw, new_loads) == store_count(sandbox, RAW_TO_STORE[raw])
        assert request_counts(log)[
            "/netsuite/services/rest/query/v1/suiteql"
        ] == suiteql_pages + len(NETSUITE_WHOLE)
        for raw in LISTED_WHOLE:  # a page per 100 records, every run
            table = raw.split(".")[1]
            path = "deals" if table == "deal_companies" else table
            assert request_counts(log)[f"/hubspot/crm/v3/objects/{path}"] == math.ceil(
                store_count(sandbox, RAW_TO_STORE[raw]) / 100
            )


def test_bamboohr_stops_when_its_user_may_not_see_compensation(sandbox, tmp_path):
    """BambooHR leaves out the fields a user may not see instead of refusing: compensation rows
    with no fields must stop the run with the reason, not land as quarantined or empty rows."""
    requests.post(
        f"{sandbox.url}/_sandbox/permissions", json={"bamboohr": ["compensation"]}, timeout=10
    ).raise_for_status()
    settings = settings_for(sandbox, tmp_path / "data")
    assets = [a for a in ingest_assets if a.op.name == "ingest_bamboohr"]
    resources = build_definitions(settings).resources
    result = dg.materialize(
        assets, resources=resources, instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
    )
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    cause = str(failure.event_specific_data.error.to_string())
    assert "compensation rows came without their fields" in cause
    assert "access to the compensation table" in cause
