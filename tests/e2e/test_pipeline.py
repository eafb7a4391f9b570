"""The whole product, in process, against the sandbox over HTTP and a real DuckDB file.

One full materialisation is shared by the tests of this module (it takes ~30 s); the tests
after the first build on each other's state in file order, as a nightly run would: sync,
sync again, refresh again.
"""

import json
from dataclasses import dataclass
from decimal import Decimal

import dagster as dg
import duckdb
import pytest
import requests

from psa_pipeline.automation.demo import launch_sensor_runs, sync_summary
from psa_pipeline.definitions import ASSET_CHECKS, ASSETS, build_definitions
from psa_pipeline.reverse_sync.sensor import billing_corrections_sensor
from psa_pipeline.sandbox.server import SandboxServer
from psa_pipeline.settings import Settings
from tests.helpers import AUTH, settings_for, start_sandbox, suiteql, truth

pytestmark = pytest.mark.slow


@dataclass
class Pipeline:
    server: SandboxServer
    settings: Settings
    defs: dg.Definitions
    instance: dg.DagsterInstance
    result: dg.ExecuteInProcessResult

    def query(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.settings.warehouse_path), read_only=True) as conn:
            return conn.execute(sql).fetchall()

    def drafted_time_entries(self) -> list[int]:
        """Time entry ids on every draft invoice line the reverse sync wrote that bills time
        (one id per line; expense and rate adjustment lines name none)."""
        drafts = {
            r["id"]
            for r in suiteql(
                self.server, "select id from transaction where type = 'CustInvc' and status = 'D'"
            )
        }
        lines = suiteql(
            self.server,
            "select transaction, custcol_time_entry_id from transactionline where mainline = 'F'",
        )
        return [
            int(line["custcol_time_entry_id"])
            for line in lines
            if line["transaction"] in drafts and "custcol_time_entry_id" in line
        ]

    def requests(self) -> list[dict]:
        return requests.get(f"{self.server.url}/_sandbox/requests", timeout=10).json()["requests"]

    def puts(self) -> int:
        return sum(1 for entry in self.requests() if entry["method"] == "PUT")


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pipeline")
    server = start_sandbox(tmp / "sandbox")
    settings = settings_for(server, tmp / "data")
    defs = build_definitions(settings)
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [*ASSETS, *ASSET_CHECKS],
            resources=defs.resources,
            instance=instance,
            raise_on_error=False,
        )
        yield Pipeline(server, settings, defs, instance, result)
    server.stop()


def test_every_asset_materialises_and_every_check_passes(pipeline):
    assert pipeline.result.success
    graph = pipeline.defs.resolve_asset_graph()
    materialised = {e.asset_key for e in pipeline.result.get_asset_materialization_events()}
    assert materialised == set(graph.materializable_asset_keys)
    # the rest are the dashboard's pages, which read the published copy on demand
    assert {key.path[0] for key in graph.get_all_asset_keys() - materialised} == {"dashboard"}
    evaluations = pipeline.result.get_asset_check_evaluations()
    assert {e.asset_check_key for e in evaluations} == set(graph.asset_check_keys)
    assert [e.asset_check_key for e in evaluations if not e.passed] == []


def test_billing_corrections_are_exactly_the_injected_correctable_leakage(pipeline):
    """Time corrections bill exactly the unbilled time; every other kind a billing record can
    put right has one correction per injected item, to the cent."""
    injected = {
        int(d["record_id"]): Decimal(d["amount"]) for d in truth(pipeline.server, "unbilled_time")
    }
    found = dict(
        pipeline.query(
            "select time_entry_id, correction_amount from marts.billing_corrections "
            "where correction_type = 'invoice_time'"
        )
    )
    assert injected and found == injected
    for cause in ("expense_not_invoiced", "time_billed_twice", "superseded_rate"):
        amounts = sorted(Decimal(d["amount"]) for d in truth(pipeline.server, cause))
        corrected = sorted(
            amount
            for (amount,) in pipeline.query(
                f"select correction_amount from marts.billing_corrections where cause = '{cause}'"
            )
        )
        assert corrected == amounts, cause


def test_the_sync_put_each_correction_in_the_erp_once(pipeline):
    injected = sorted(int(d["record_id"]) for d in truth(pipeline.server, "unbilled_time"))
    assert sorted(pipeline.drafted_time_entries()) == injected
    outbox = pipeline.query(
        "select external_id, record_type, record_json, correlation_id "
        "from reverse_sync.erp_sync_outbox"
    )
    assert {record_type for _, record_type, _, _ in outbox} == {"invoice", "creditMemo"}
    for external_id, record_type, record_json, correlation_id in outbox:
        stored = requests.get(
            f"{pipeline.server.url}/netsuite/services/rest/record/v1/{record_type}/eid:{external_id}",
            headers=AUTH,
            timeout=10,
        ).json()
        sent = json.loads(record_json)
        assert stored["status"] == {"id": "pendingApproval"}
        assert (stored["entity"], stored["currency"]) == (sent["entity"], sent["currency"])
        fields = ("custcol_psa_correction_id", "quantity", "rate", "amount")
        assert [[line.get(f) for f in fields] for line in stored["item"]["items"]] == [
            [line[f] for f in fields] for line in sent["item"]["items"]
        ]
        writes = [
            entry
            for entry in pipeline.requests()
            if entry["method"] == "PUT" and entry["path"].endswith(f"/eid:{external_id}")
        ]
        assert writes and {entry["correlation_id"] for entry in writes} == {correlation_id}
    # every correction is on exactly one ERP line, and every line the sync wrote is one
    corrections = [
        cid for (cid,) in pipeline.query("select correction_id from marts.billing_corrections")
    ]
    lines = suiteql(
        pipeline.server,
        "select custcol_psa_correction_id from transactionline "
        "where custcol_psa_correction_id is not null",
    )
    assert sorted(line["custcol_psa_correction_id"] for line in lines) == sorted(corrections)
    kinds = {
        kind
        for (kind,) in pipeline.query(
            "select distinct correction_type from marts.billing_corrections"
        )
    }
    assert {"invoice_time", "invoice_expense", "rate_adjustment", "credit_duplicate"} <= kinds


def test_the_published_copy_holds_every_mart_as_built_and_the_checks_behind_it(pipeline):
    """The dashboard's copy: each mart and the sync ledger row for row, the as-of date and
    exchange rates of the build, and every check behind each mart passed."""
    tables = pipeline.query(
        "select table_schema || '.' || table_name from information_schema.tables "
        "where table_schema in ('marts', 'reverse_sync') order by 1"
    )
    with duckdb.connect(str(pipeline.settings.published_path), read_only=True) as published:
        for (table,) in tables:
            wanted = pipeline.query(f"select * from {table} order by all")
            assert published.execute(f"select * from {table} order by all").fetchall() == wanted
        as_of, run_id, currency = published.execute(
            "select as_of_on, run_id, reporting_currency from publication.info"
        ).fetchone()
        summaries = published.execute(
            "select table_name, checks_total, checks_passed from publication.table_checks"
        ).fetchall()
        rates = dict(
            published.execute("select currency, fx_rate from publication.fx_rates").fetchall()
        )
    assert len(tables) > 15 and ("reverse_sync.erp_sync_ledger",) in tables
    assert [(as_of,)] == pipeline.query("select as_of_on from intermediate.int_as_of__derived")
    assert run_id == pipeline.result.run_id and currency == "USD"
    assert rates["USD"] == 1 and {"EUR", "GBP"} <= rates.keys()
    marts = {table.split(".")[1] for (table,) in tables if table.startswith("marts.")}
    assert {table for table, _, _ in summaries} == marts
    assert all(total == passed > 0 for _, total, passed in summaries), summaries


def test_the_sensor_launches_once_for_a_materialisation(pipeline):
    context = dg.build_sensor_context(instance=pipeline.instance, definitions=pipeline.defs)
    first = billing_corrections_sensor.evaluate_tick(context)
    assert [r.run_key for r in first.run_requests] == [f"billing_corrections-{first.cursor}"]
    again = billing_corrections_sensor.evaluate_tick(
        dg.build_sensor_context(
            instance=pipeline.instance, definitions=pipeline.defs, cursor=first.cursor
        )
    )
    assert again.run_requests == [] and "no materialisation after" in again.skip_message


def test_the_sensor_waits_while_a_run_has_checks_planned(pipeline):
    """A queued refresh plans every check; until it ends, nothing is decided."""
    queued = pipeline.instance.create_run_for_job(
        job_def=pipeline.defs.resolve_job_def("refresh_warehouse")
    )
    waiting = billing_corrections_sensor.evaluate_tick(
        dg.build_sensor_context(instance=pipeline.instance, definitions=pipeline.defs)
    )
    assert waiting.run_requests == [] and waiting.skip_message.startswith("waiting:")
    assert waiting.cursor is None  # not decided: the same materialisation is looked at again

    pipeline.instance.report_run_failed(queued)  # it ended without evaluating its checks
    decided = billing_corrections_sensor.evaluate_tick(
        dg.build_sensor_context(instance=pipeline.instance, definitions=pipeline.defs)
    )
    assert len(decided.run_requests) == 1  # the earlier, completed evaluations count again


def test_a_second_sync_pushes_nothing(pipeline):
    before = pipeline.drafted_time_entries()
    puts_before = pipeline.puts()
    outcome, runs = launch_sensor_runs(pipeline.defs, pipeline.instance, billing_corrections_sensor)
    assert outcome == "1 run(s) requested" and len(runs) == 1 and runs[0].success
    summary = sync_summary(runs[0])  # what the demo prints: the sync's figures, not the
    assert summary["new_corrections"] == 0 and summary["records_pushed"] == 0  # publication's
    assert pipeline.puts() == puts_before
    assert sorted(pipeline.drafted_time_entries()) == sorted(before)
    # the same tick again: its run key already has a run, so nothing is launched
    assert launch_sensor_runs(pipeline.defs, pipeline.instance, billing_corrections_sensor)[1] == []


def test_a_refresh_after_the_sync_leaves_nothing_to_correct(pipeline):
    refresh = pipeline.defs.resolve_job_def("refresh_warehouse").execute_in_process(
        instance=pipeline.instance
    )
    assert refresh.success
    # every correction is in the ERP now (draft lines, credit memos): nothing left to send,
    # and the only leakage left is what needs a person
    assert pipeline.query("select count(*) from marts.billing_corrections") == [(0,)]
    left = {
        cause for (cause,) in pipeline.query("select distinct cause from marts.revenue_leakage")
    }
    assert left <= {"won_deal_without_project", "unmapped_project_code"} and left
    drafted = len(pipeline.drafted_time_entries())
    billed = pipeline.query("select count(*) from staging.stg_netsuite__invoice_lines")[0][0]
    invoices = {
        row["id"]
        for row in suiteql(pipeline.server, "select id from transaction where type = 'CustInvc'")
    }
    lines = suiteql(pipeline.server, "select transaction from transactionline where mainline = 'F'")
    assert billed == sum(line["transaction"] in invoices for line in lines) and drafted > 0
    assert len(lines) > billed  # credit memos have lines too, and they are not invoice lines
    puts_before = pipeline.puts()
    # with nothing left to correct, the sensor launches no sync at all
    outcome, runs = launch_sensor_runs(pipeline.defs, pipeline.instance, billing_corrections_sensor)
    assert outcome == "billing_corrections holds no rows" and runs == []
    assert pipeline.puts() == puts_before
