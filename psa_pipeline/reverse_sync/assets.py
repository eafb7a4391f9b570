"""erp_sync_invoices: push pending billing corrections to the ERP as draft invoices.

It pushes the corrections of unbilled time (`invoice_time`); expenses, milestones, rate
adjustments and credits for double billing wait in billing_corrections for a sync that writes
those records.

The warehouse is only held for short moments (reading corrections, writing the outbox, settling
one entry); never across an HTTP call, which with retries can take a while.
"""

from dataclasses import dataclass, field

import dagster as dg
import duckdb
from pydantic import Field

from psa_pipeline.ingest.resources import SourceSystems
from psa_pipeline.reverse_sync import ledger
from psa_pipeline.reverse_sync.erp_client import ErpClient, ErpUnavailable
from psa_pipeline.reverse_sync.gate import sync_gate
from psa_pipeline.reverse_sync.plan import Correction, plan_draft_invoices
from psa_pipeline.sources.netsuite import netsuite_auth
from psa_pipeline.warehouse import WAREHOUSE_POOL, Warehouse

BILLING_CORRECTIONS = dg.AssetKey("billing_corrections")

NEW_CORRECTIONS = """
select correction_id, time_entry_id, project_code, erp_customer_id, line_description, spent_on,
       billing_month, quantity, rate_amount, correction_amount, correction_currency
from marts.billing_corrections
where correction_type = 'invoice_time'
  and correction_id not in (select correction_id from reverse_sync.erp_sync_ledger)
order by correction_id
"""


class ErpSyncConfig(dg.Config):
    retries: int = Field(
        default=5, description="Retries per ERP call on 429, 5xx and transport errors"
    )
    backoff_seconds: float = Field(default=0.5, description="Base of the exponential backoff")
    timeout_seconds: float = Field(default=30.0, description="Time-out of one ERP call")


@dataclass
class SyncReport:
    confirmed: list[str] = field(default_factory=list)  # earlier writes found in the ERP
    superseded: list[str] = field(default_factory=list)  # earlier writes that never arrived
    new_corrections: int = 0
    planned: int = 0
    pushed: list[str] = field(default_factory=list)
    dead_letters: list[str] = field(default_factory=list)
    unavailable: str | None = None

    def metadata(self, totals: dict[str, int]) -> dict:
        return {
            "new_corrections": self.new_corrections,
            "invoices_planned": self.planned,
            "invoices_pushed": len(self.pushed),
            "earlier_writes_confirmed": self.confirmed,
            "earlier_writes_superseded": self.superseded,
            "dead_letters": self.dead_letters,
            "erp_unavailable": self.unavailable or "",
            "outbox_totals": totals,
        }


def new_corrections(conn: duckdb.DuckDBPyConnection) -> list[Correction]:
    """Corrections the ledger has not seen yet."""
    return [Correction(*row) for row in conn.execute(NEW_CORRECTIONS).fetchall()]


def reconcile(client: ErpClient, warehouse: Warehouse, report: SyncReport) -> None:
    """Settle what earlier syncs left pending, by asking the ERP whether it arrived."""
    with warehouse.get_connection() as conn:
        ledger.ensure_tables(conn)
        earlier = ledger.pending(conn)
    for entry in earlier:
        arrived = client.read_invoice(entry.external_id) is not None
        with warehouse.get_connection() as conn:
            if arrived:
                ledger.settle(conn, entry.external_id, ledger.PUSHED, None)
                report.confirmed.append(entry.external_id)
            else:
                ledger.supersede(conn, entry.external_id)
                report.superseded.append(entry.external_id)


def plan_and_send(client: ErpClient, warehouse: Warehouse, report: SyncReport) -> None:
    with warehouse.get_connection() as conn:
        drafts = plan_draft_invoices(new_corrections(conn))
        ledger.enqueue(conn, drafts)
        outbox = ledger.pending(conn)
    report.new_corrections = sum(len(d.correction_ids) for d in drafts)
    report.planned = len(drafts)
    for entry in outbox:
        refusal = client.upsert_invoice(entry.external_id, entry.record)
        with warehouse.get_connection() as conn:
            if refusal is None:
                ledger.settle(conn, entry.external_id, ledger.PUSHED, None)
                report.pushed.append(entry.external_id)
            else:
                reason = f"HTTP {refusal.status}: {refusal.detail}"
                ledger.settle(conn, entry.external_id, ledger.DEAD_LETTER, reason)
                report.dead_letters.append(f"{entry.external_id}: {reason}")


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
    context: dg.AssetExecutionContext,
    config: ErpSyncConfig,
    warehouse: Warehouse,
    source_systems: SourceSystems,
) -> dg.MaterializeResult:
    built = context.instance.get_latest_materialization_event(BILLING_CORRECTIONS)
    if built is None:
        raise dg.Failure(
            "billing_corrections has never been materialised: nothing to sync", allow_retries=False
        )
    verdict = sync_gate(context.instance, BILLING_CORRECTIONS, built.run_id)
    if verdict.problems:
        raise dg.Failure(
            description="Refusing to write to the ERP: " + "; ".join(verdict.problems),
            metadata={"blocked_by": verdict.problems},
            allow_retries=False,
        )
    if verdict.waiting:
        raise dg.Failure(description="Checks are still running: " + "; ".join(verdict.waiting))

    endpoint = source_systems.endpoint("netsuite")
    client = ErpClient(
        endpoint.base_url,
        netsuite_auth(endpoint),
        retries=config.retries,
        backoff=config.backoff_seconds,
        timeout=config.timeout_seconds,
    )
    report = SyncReport()
    try:
        reconcile(client, warehouse, report)
        plan_and_send(client, warehouse, report)
    except ErpUnavailable as error:  # stop at once: a throttled ERP is not hit once per invoice
        report.unavailable = str(error)
    with warehouse.get_connection() as conn:
        metadata = report.metadata(ledger.status_counts(conn))

    if report.unavailable:
        raise dg.Failure(
            description=f"ERP unavailable, writes left pending: {report.unavailable}",
            metadata=metadata,
        )
    if report.dead_letters:
        raise dg.Failure(
            description=f"{len(report.dead_letters)} invoice(s) refused by the ERP",
            metadata=metadata,
            allow_retries=False,
        )
    return dg.MaterializeResult(metadata=metadata)
