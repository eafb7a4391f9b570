"""erp_sync_invoices: push pending billing corrections to the ERP as draft invoices."""

import dagster as dg
import duckdb
import requests

from psa_pipeline.ingest.resources import SourceSystems
from psa_pipeline.reverse_sync import ledger
from psa_pipeline.reverse_sync.erp_client import ErpClient
from psa_pipeline.reverse_sync.gate import blocking_check_problems
from psa_pipeline.reverse_sync.plan import Correction, plan_draft_invoices
from psa_pipeline.warehouse import WAREHOUSE_POOL, Warehouse

BILLING_CORRECTIONS = dg.AssetKey("billing_corrections")

NEW_CORRECTIONS = """
select correction_id, time_entry_id, project_code, erp_customer_id, user_name, spent_on,
       billing_month, hours, bill_rate_amount, correction_amount, correction_currency
from marts.billing_corrections
where correction_id not in (select correction_id from reverse_sync.erp_sync_ledger)
order by correction_id
"""


def new_corrections(conn: duckdb.DuckDBPyConnection) -> list[Correction]:
    """Corrections the ledger has not seen yet."""
    return [Correction(*row) for row in conn.execute(NEW_CORRECTIONS).fetchall()]


@dg.asset(
    name="erp_sync_invoices",
    group_name="reverse_sync",
    deps=[BILLING_CORRECTIONS],
    pool=WAREHOUSE_POOL,
    kinds={"netsuite"},
    description=(
        "Draft invoices in the ERP for approved billable time that was never invoiced; "
        "written once per correction, by external id, with a write-ahead outbox."
    ),
)
def erp_sync_invoices(
    context: dg.AssetExecutionContext, warehouse: Warehouse, source_systems: SourceSystems
) -> dg.MaterializeResult:
    built = context.instance.get_latest_materialization_event(BILLING_CORRECTIONS)
    if built is None:
        raise dg.Failure("billing_corrections has never been materialised: nothing to sync")
    problems = blocking_check_problems(context.instance, BILLING_CORRECTIONS, built.run_id)
    if problems:
        raise dg.Failure(
            description="Refusing to write to the ERP: " + "; ".join(problems),
            metadata={"blocked_by": problems},
        )

    endpoint = source_systems.endpoint("netsuite")
    client = ErpClient(endpoint.base_url, endpoint.access_token)
    pushed, dead_letters, retry_later = [], [], []
    with warehouse.get_connection() as conn:
        ledger.ensure_tables(conn)
        drafts = plan_draft_invoices(new_corrections(conn))
        ledger.enqueue(conn, drafts)
        for entry in ledger.pending(conn):
            try:
                result = client.upsert_invoice(entry.external_id, entry.record)
            except requests.RequestException as error:
                ledger.settle(conn, entry.external_id, ledger.PENDING, f"transport: {error}")
                retry_later.append(entry.external_id)
                continue
            if result.ok:
                ledger.settle(conn, entry.external_id, ledger.PUSHED, None)
                pushed.append(entry.external_id)
            else:
                error = f"HTTP {result.status}: {result.detail}"
                ledger.settle(conn, entry.external_id, ledger.DEAD_LETTER, error)
                dead_letters.append(f"{entry.external_id}: {error}")
        totals = ledger.status_counts(conn)

    metadata = {
        "new_corrections": sum(len(d.correction_ids) for d in drafts),
        "invoices_planned": len(drafts),
        "invoices_pushed": len(pushed),
        "dead_letters": dead_letters,
        "retry_later": retry_later,
        "outbox_totals": totals,
    }
    if dead_letters or retry_later:
        raise dg.Failure(
            description=f"{len(dead_letters)} invoice(s) dead-lettered, {len(retry_later)} to retry",
            metadata=metadata,
        )
    return dg.MaterializeResult(metadata=metadata)
