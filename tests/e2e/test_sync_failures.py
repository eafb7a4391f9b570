"""The ERP misbehaves; every correction still reaches it exactly once.

One story, in order: the ERP is down (every call 503), then a write commits but its answer never
comes back in time, then the ERP is healthy again.
"""

import dagster as dg
import duckdb
import pytest
import requests

from psa_pipeline.definitions import build_definitions
from psa_pipeline.reverse_sync.assets import erp_sync_invoices
from tests.helpers import settings_for, start_sandbox, truth

pytestmark = pytest.mark.slow

FAST_GIVE_UP = {"retries": 1, "backoff_seconds": 0.0, "timeout_seconds": 1.0}


def sync(defs, instance, **config) -> dg.ExecuteInProcessResult:
    """The sync asset alone, without the job's step retries (they wait 30 s)."""
    return dg.materialize(
        [erp_sync_invoices],
        resources=defs.resources,
        instance=instance,
        raise_on_error=False,
        run_config={"ops": {"erp_sync_invoices": {"config": {**FAST_GIVE_UP, **config}}}},
    )


def failure_of(result: dg.ExecuteInProcessResult) -> str:
    return result.get_step_failure_events()[0].step_failure_data.error.message


def drafted(server) -> list[int]:
    """Time entries on the ERP's draft invoices, read from its store (the API may be faulty)."""
    with server.store.connect() as conn:
        rows = conn.execute(
            "select line.custcol_time_entry_id from netsuite_transactionline line "
            'join netsuite_transaction inv on inv.id = line."transaction" '
            "where inv.status = 'pendingApproval' order by 1"
        ).fetchall()
    return [row[0] for row in rows]


def set_faults(server, plan: dict) -> None:
    requests.post(f"{server.url}/_sandbox/faults", json=plan, timeout=10).raise_for_status()


def drafts_expected(settings) -> int:
    """One draft invoice per project, customer and currency with time corrections (the kind
    the sync writes)."""
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        return conn.execute(
            "select count(*) from (select distinct project_code, erp_customer_id, "
            "correction_currency from marts.billing_corrections "
            "where correction_type = 'invoice_time')"
        ).fetchone()[0]


def outbox(settings) -> dict[str, int]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        return dict(
            conn.execute(
                "select status, count(*) from reverse_sync.erp_sync_outbox group by status"
            ).fetchall()
        )


def test_an_unavailable_erp_and_a_lost_answer_still_give_exactly_once(tmp_path):
    server = start_sandbox(tmp_path / "sandbox")
    settings = settings_for(server, tmp_path / "data")
    defs = build_definitions(settings)
    injected = sorted(int(d["record_id"]) for d in truth(server, "unbilled_time"))
    try:
        with dg.instance_for_test() as instance:
            refresh = defs.resolve_job_def("refresh_warehouse").execute_in_process(
                instance=instance
            )
            assert refresh.success
            drafts = drafts_expected(settings)
            assert drafts > 1

            set_faults(server, {"netsuite": {"http_503": 1.0}})
            down = sync(defs, instance)
            assert not down.success and "ERP unavailable" in failure_of(down)
            assert outbox(settings) == {"pending": drafts}  # kept for later, none dead-lettered
            assert drafted(server) == []

            # the first write the ERP gets commits, but answers after the client gave up
            set_faults(server, {"netsuite": {"erp_commit_then_timeout": 1.0}})
            lost = sync(defs, instance, retries=0)
            assert not lost.success and "ERP unavailable" in failure_of(lost)
            arrived = drafted(server)
            assert 0 < len(arrived) < len(injected)

            set_faults(server, {})
            healthy = sync(defs, instance)
            assert healthy.success
            metadata = healthy.get_asset_materialization_events()[0].materialization.metadata
            assert len(metadata["earlier_writes_confirmed"].value) == 1  # the lost answer's write
            assert len(metadata["earlier_writes_superseded"].value) == drafts - 1  # never arrived
            assert drafted(server) == injected  # every correction once, none twice
            assert outbox(settings) == {"pushed": drafts}
    finally:
        server.stop()
