"""The month-end reload re-reads one month of time, expenses and invoices over real HTTP, merges
it into the nightly's raw tables, removes what the source deleted, and leaves the nightly's
cursors alone."""

import math
from urllib.parse import quote

import dagster as dg
import dlt
import duckdb
import requests

from psa_pipeline.definitions import build_definitions
from psa_pipeline.ingest.assets import ingest_assets
from psa_pipeline.sources.netsuite import RESOURCES as NETSUITE_RESOURCES
from tests.helpers import AUTH, invoice_body, settings_for
from tests.integration.test_ingest import (
    HARVEST,
    KEYS,
    RAW_TO_STORE,
    assert_raw_tables_equal_the_sandbox,
    materialize,
    newest,
    request_counts,
    requests_made,
    store_count,
)

MONTH = "2026-04"  # the small firm logs time from January to June 2026 and bills every month
SYSTEMS = ("harvest", "netsuite")
NIGHTLY = [a for a in ingest_assets if a.op.name in {f"ingest_{s}" for s in SYSTEMS}]
_INVOICES_OF = "select id from netsuite_transaction where type = 'CustInvc' and trandate like ?"
MONTH_IN_STORE = {  # raw table -> the store's rows of the month (`?`: the month's LIKE pattern)
    "raw_harvest.time_entries": "harvest_time_entries where spent_date like ?",
    "raw_harvest.expenses": "harvest_expenses where spent_date like ?",
    "raw_netsuite.invoices": "netsuite_transaction where type = 'CustInvc' and trandate like ?",
    "raw_netsuite.invoice_lines": f'netsuite_transactionline where "transaction" in ({_INVOICES_OF})',
}
RAW_TABLES = [raw for raw in RAW_TO_STORE if raw.split(".")[0] in {f"raw_{s}" for s in SYSTEMS}]


def month_count(server, raw: str, month: str = MONTH) -> int:
    with server.store.connect() as store:
        return store.execute(
            f"select count(*) from {MONTH_IN_STORE[raw]}", (f"{month}-%",)
        ).fetchone()[0]


def reload(server, settings, instance, month: str = MONTH) -> dict[str, dict]:
    """Run the month's reload; return each raw table's materialization metadata."""
    requests.delete(f"{server.url}/_sandbox/requests", timeout=10)
    job = build_definitions(settings).resolve_job_def("reload_month")
    result = job.execute_in_process(partition_key=f"{month}-01", instance=instance)
    assert result.success
    reported = {}
    for system in SYSTEMS:
        for event in result.asset_materializations_for_node(f"reload_{system}_month"):
            table = f"raw_{system}.{event.asset_key.path[-1]}"
            reported[table] = {name: value.value for name, value in event.metadata.items()}
    return reported


def rows_of_load(settings, raw: str, load_id: str) -> tuple[int, int]:
    """How many rows of a raw table the load wrote, and how many keys they hold."""
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        return conn.execute(
            f"select count(*), count(distinct {KEYS[raw]}) from {raw} where _dlt_load_id = ?",
            [load_id],
        ).fetchone()


def contents(settings) -> dict[str, set[tuple]]:
    """Every raw row of the two systems, without dlt's load bookkeeping."""
    found = {}
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        for raw in [*RAW_TABLES, *(f"raw_{s}.quarantine" for s in SYSTEMS)]:
            if not conn.execute(
                "select count(*) from information_schema.tables "
                "where table_schema || '.' || table_name = ?",
                [raw],
            ).fetchone()[0]:
                continue
            cursor = conn.execute(f"select * from {raw}")
            columns = [c[0] for c in cursor.description]
            kept = [n for n, c in enumerate(columns) if not c.startswith("_dlt_")]
            found[raw] = {tuple(row[n] for n in kept) for row in cursor.fetchall()}
    return found


def nightly_state(settings) -> dict[str, object]:
    """The nightly pipelines' state: as the warehouse keeps it and as their working folder does."""
    state = {}
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        for system in SYSTEMS:
            state[f"raw_{system}"] = conn.execute(
                f"select version, state from raw_{system}._dlt_pipeline_state "
                "where pipeline_name = ? order by version",
                [f"psa_{system}"],
            ).fetchall()
    for system in SYSTEMS:
        pipeline = dlt.attach(f"psa_{system}", pipelines_dir=str(settings.dlt_pipelines_dir))
        state[f"psa_{system}"] = pipeline.state["sources"]
    return state


def assert_the_month_is_relanded(settings, server, reported) -> None:
    for raw in MONTH_IN_STORE:
        expected = month_count(server, raw)
        assert expected > 0, raw
        metadata = reported[raw]
        assert rows_of_load(settings, raw, metadata["load_id"]) == (expected, expected), raw
        assert metadata["rows_loaded"] == expected and metadata["rows_quarantined"] == 0, raw
        assert metadata["month"] == MONTH and metadata["requests"] > 0, raw


def test_a_month_reload_relands_exactly_that_month_and_removes_what_the_source_deleted(
    sandbox, tmp_path
):
    settings = settings_for(sandbox, tmp_path / "data")
    with dg.instance_for_test() as instance:
        materialize(sandbox, settings, instance, NIGHTLY)
        assert_raw_tables_equal_the_sandbox(settings, sandbox, systems=set(SYSTEMS))
        before = contents(settings)

        reported = reload(sandbox, settings, instance)
        assert_the_month_is_relanded(settings, sandbox, reported)
        assert all(metadata["rows_deleted"] == 0 for metadata in reported.values())
        assert_raw_tables_equal_the_sandbox(settings, sandbox, systems=set(SYSTEMS))
        assert contents(settings) == before
        # it asked for the month, not for changes, and read only the month's tables
        log = requests_made(sandbox)
        harvest = [e["query"] for e in log if e["path"].startswith("/harvest/")]
        assert {e["path"] for e in log if e["path"].startswith("/harvest/")} == {
            "/harvest/v2/time_entries",
            "/harvest/v2/expenses",
        }
        assert all("from=2026-04-01" in q and "to=2026-04-30" in q for q in harvest)
        assert not any("updated_since" in q for q in harvest)
        suiteql = " ".join(e["body"] for e in log if e["path"].endswith("/suiteql"))
        month = (
            "t.trandate >= TO_DATE('2026-04-01', 'YYYY-MM-DD') "
            "AND t.trandate < TO_DATE('2026-05-01', 'YYYY-MM-DD')"
        )
        assert suiteql.count(month) == 2  # the invoices, and their lines in one joined query
        assert "lastmodifieddate) >=" not in suiteql

        # the same month again changes nothing
        again = reload(sandbox, settings, instance)
        assert_the_month_is_relanded(settings, sandbox, again)
        assert all(metadata["rows_deleted"] == 0 for metadata in again.values())
        assert contents(settings) == before

        # deletions at source: a time entry, an expense and an invoice of the month go, and an
        # invoice dated in the month is written through the ERP API with two lines, landed by
        # the nightly, then rewritten with one (the ERP replaces its lines). The nightly cannot
        # see that anything went; the reload removes it, but for the deleted invoice's lines
        # (it cannot tell a deleted invoice from one moved to another month; staging keeps only
        # the lines of invoices it has)
        with sandbox.store.connect() as store:
            for table in ("harvest_time_entries", "harvest_expenses"):
                store.execute(
                    f"delete from {table} where id = "
                    f"(select min(id) from {table} where spent_date like ?)",
                    (f"{MONTH}-%",),
                )
            (deleted_invoice,) = store.execute(
                f"select min(id) from ({_INVOICES_OF}) where id not in "
                "(select previousdoc from netsuite_previoustransactionlink) and id not in "
                "(select createdfrom from netsuite_transaction where createdfrom is not null)",
                (f"{MONTH}-%",),
            ).fetchone()
            orphans = store.execute(
                'delete from netsuite_transactionline where "transaction" = ? returning 1',
                (deleted_invoice,),
            ).fetchall()
            store.execute("delete from netsuite_transaction where id = ?", (deleted_invoice,))
        assert orphans
        two_lines = invoice_body() | {"tranDate": f"{MONTH}-30"}
        two_lines["item"] = {"items": two_lines["item"]["items"] * 2}
        for body in (two_lines, invoice_body() | {"tranDate": f"{MONTH}-30"}):
            assert requests.put(
                f"{sandbox.url}/netsuite/services/rest/record/v1/invoice/eid:MONTH-END-1",
                json=body,
                headers=AUTH,
                timeout=10,
            ).ok
            materialize(sandbox, settings, instance, NIGHTLY)
        with sandbox.store.connect() as store:
            written, lines_now = store.execute(
                "select t.id, count(*) from netsuite_transaction t join netsuite_transactionline l "
                "on l.\"transaction\" = t.id where t.externalid = 'MONTH-END-1' group by t.id"
            ).fetchone()
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
            landed_lines = conn.execute(
                'select count(*) from raw_netsuite.invoice_lines where "transaction" = ?',
                [str(written)],
            ).fetchone()[0]
        assert landed_lines > lines_now == 1

        gone = reload(sandbox, settings, instance)
        assert gone["raw_harvest.time_entries"]["rows_deleted"] == 1
        assert gone["raw_harvest.expenses"]["rows_deleted"] == 1
        assert gone["raw_netsuite.invoices"]["rows_deleted"] == 1
        assert gone["raw_netsuite.invoice_lines"]["rows_deleted"] == landed_lines - lines_now
        assert_the_month_is_relanded(settings, sandbox, gone)
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
            for raw in RAW_TABLES:
                rows, keys = conn.execute(
                    f"select count(*), count(distinct {KEYS[raw]}) from {raw}"
                ).fetchone()
                expected = store_count(sandbox, RAW_TO_STORE[raw])
                if raw == "raw_netsuite.invoice_lines":
                    expected += len(orphans)
                assert rows == keys == expected, raw
            assert conn.execute(
                'select count(*) from raw_netsuite.invoice_lines where "transaction" = ?',
                [str(deleted_invoice)],
            ).fetchone()[0] == len(orphans)


def test_a_month_reload_leaves_the_nightly_cursors_where_they_were(sandbox, tmp_path):
    settings = settings_for(sandbox, tmp_path / "data")
    with dg.instance_for_test() as instance:
        materialize(sandbox, settings, instance, NIGHTLY)
        state = nightly_state(settings)
        newest_entry = newest(sandbox, "updated_at", "harvest_time_entries")
        newest_invoice = newest(sandbox, "lastmodifieddate", "netsuite_transaction")

        reload(sandbox, settings, instance)
        assert nightly_state(settings) == state

        # the next nightly run asks only for what changed since the newest record it had
        rerun = materialize(sandbox, settings, instance, NIGHTLY)
        assert request_counts(rerun) == {
            **{f"/harvest/v2/{c}": 1 for c in HARVEST},
            "/netsuite/services/rest/query/v1/suiteql": len(NETSUITE_RESOURCES),
        }
        sent = " ".join(entry["query"] + " " + entry["body"] for entry in rerun)
        assert "updated_since=" + quote(newest_entry, safe="") in sent
        assert f"SYS_EXTRACT_UTC(t.lastmodifieddate) >= TO_TIMESTAMP('{newest_invoice}', " in sent
        assert_raw_tables_equal_the_sandbox(settings, sandbox, systems=set(SYSTEMS))


def test_a_month_reload_on_an_empty_warehouse_loads_just_that_month(sandbox, tmp_path):
    settings = settings_for(sandbox, tmp_path / "data")
    with dg.instance_for_test() as instance:
        reported = reload(sandbox, settings, instance)
        assert_the_month_is_relanded(settings, sandbox, reported)
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
            tables = {
                f"{schema}.{table}"
                for schema, table in conn.execute(
                    "select table_schema, table_name from information_schema.tables "
                    "where table_schema in ('raw_harvest', 'raw_netsuite') "
                    "and table_name not like '\\_dlt\\_%' escape '\\'"
                ).fetchall()
            }
            assert tables == set(MONTH_IN_STORE)
            for raw in MONTH_IN_STORE:
                rows, keys = conn.execute(
                    f"select count(*), count(distinct {KEYS[raw]}) from {raw}"
                ).fetchone()
                assert rows == keys == month_count(sandbox, raw), raw

        # the nightly then loads everything else around the month, once
        full_load = materialize(sandbox, settings, instance, NIGHTLY)
        pages = math.ceil(store_count(sandbox, "harvest_time_entries") / 2000)
        assert request_counts(full_load)["/harvest/v2/time_entries"] == pages
        assert_raw_tables_equal_the_sandbox(settings, sandbox, systems=set(SYSTEMS))
