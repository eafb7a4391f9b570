"""erp_sync_invoices: push new billing corrections to the ERP, every kind (plan.py says what
each becomes: draft invoice lines, or credit memos applied to the invoice at fault).

A dry run (run config `dry_run: true`, or `psa-pipeline sync --dry-run`) plans exactly what
would be sent and writes nothing, to the ERP or to the ledger.

The warehouse is only held for short moments (reading corrections, writing the outbox, settling
one entry); never across an HTTP call, which with retries can take a while.
"""

from dataclasses import dataclass, field
from decimal import Decimal

import dagster as dg
from pydantic import Field

from psa_pipeline.ingest.resources import SourceSystems
from psa_pipeline.reverse_sync import ledger
from psa_pipeline.reverse_sync.approval import ErpSyncPolicy, split_for_approval
from psa_pipeline.reverse_sync.corrections import new_corrections
from psa_pipeline.reverse_sync.erp_client import ErpClient, ErpUnavailable
from psa_pipeline.reverse_sync.gate import sync_gate
from psa_pipeline.reverse_sync.plan import Correction, ErpRecord, plan_records
from psa_pipeline.sources.netsuite import netsuite_auth
from psa_pipeline.warehouse import WAREHOUSE_POOL, Warehouse

BILLING_CORRECTIONS = dg.AssetKey("billing_corrections")


class ErpSyncConfig(dg.Config):
    retries: int = Field(
        default=5, description="Retries per ERP call on 429, 5xx and transport errors"
    )
    backoff_seconds: float = Field(default=0.5, description="Base of the exponential backoff")
    timeout_seconds: float = Field(default=30.0, description="Time-out of one ERP call")
    dry_run: bool = Field(
        default=False,
        description="Plan what would be sent (records, lines, totals) and write nothing, "
        "to the ERP or to the ledger",
    )


@dataclass
class SyncReport:
    confirmed: list[str] = field(default_factory=list)  # earlier writes found in the ERP
    superseded: list[str] = field(default_factory=list)  # earlier writes that never arrived
    new_corrections: int = 0
    planned: list[ErpRecord] = field(default_factory=list)
    pushed: list[str] = field(default_factory=list)
    dead_letters: list[str] = field(default_factory=list)
    unavailable: str | None = None
    awaiting: list[Correction] = field(default_factory=list)  # above the approval threshold

    def metadata(self, totals: dict[str, int]) -> dict:
        return {
            "new_corrections": self.new_corrections,
            "awaiting_approval": [c.correction_id for c in self.awaiting],
            "records_planned": len(self.planned),
            "records_pushed": len(self.pushed),
            "planned_by_type": plan_summary(self.planned),
            "earlier_writes_confirmed": self.confirmed,
            "earlier_writes_superseded": self.superseded,
            "dead_letters": self.dead_letters,
            "erp_unavailable": self.unavailable or "",
            "outbox_totals": totals,
        }


def plan_summary(records: list[ErpRecord]) -> dict:
    """Per record type: records, lines and totals per currency (what a person checks before
    sending)."""
    summary: dict[str, dict] = {}
    for record in records:
        kind = summary.setdefault(record.record_type, {"records": 0, "lines": 0, "totals": {}})
        kind["records"] += 1
        kind["lines"] += len(record.correction_ids)
        totals = kind["totals"]
        totals[record.currency] = str(Decimal(totals.get(record.currency, "0")) + record.total)
    return summary


def dry_run_plan(warehouse: Warehouse, threshold: Decimal | None) -> tuple[list[ErpRecord], list]:
    """What a sync would send now, and what waits for approval, read without writing: the
    ledger is only read."""
    with warehouse.read_only() as conn:
        split = split_for_approval(conn, new_corrections(conn), threshold)
    return plan_records(split.sendable), split.awaiting


def reconcile(client: ErpClient, warehouse: Warehouse, report: SyncReport) -> None:
    """Settle what earlier syncs left pending, by asking the ERP whether it arrived."""
    with warehouse.get_connection() as conn:
        ledger.ensure_tables(conn)
        earlier = ledger.pending(conn)
    for entry in earlier:
        arrived = client.read(entry.record_type, entry.external_id) is not None
        with warehouse.get_connection() as conn:
            if arrived:
                ledger.settle(conn, entry.external_id, ledger.PUSHED, None)
                report.confirmed.append(entry.external_id)
            else:
                ledger.supersede(
                    conn, entry.external_id, "not found in the ERP; corrections planned again"
                )
                report.superseded.append(entry.external_id)


def plan_and_send(
    client: ErpClient, warehouse: Warehouse, threshold: Decimal | None, report: SyncReport
) -> None:
    with warehouse.get_connection() as conn:
        split = split_for_approval(conn, new_corrections(conn), threshold)
        report.awaiting = split.awaiting
        records = plan_records(split.sendable)
        ledger.enqueue(conn, records)
        outbox = ledger.pending(conn)
    report.new_corrections = sum(len(r.correction_ids) for r in records)
    report.planned = records
    for entry in outbox:
        try:
            refusal = client.upsert(
                entry.record_type, entry.external_id, entry.record, entry.correlation_id
            )
        except ErpUnavailable as error:  # left pending; the history says why
            with warehouse.get_connection() as conn:
                ledger.record_attempt(conn, entry.external_id, "unavailable", str(error))
            raise
        with warehouse.get_connection() as conn:
            if refusal is None:
                ledger.settle(conn, entry.external_id, ledger.PUSHED, None)
                report.pushed.append(entry.external_id)
            else:
                reason = f"HTTP {refusal.status}: {refusal.detail}"
                ledger.settle(conn, entry.external_id, ledger.DEAD_LETTER, reason)
                report.dead_letters.append(f"{entry.external_id}: {reason}")


def describe_plan(records: list[ErpRecord]) -> str:
    """The plan as a person reads it: each record, its total, and what each line puts right."""
    if not records:
        return "Nothing to send: every correction is already in the ledger."
    lines = []
    for record in records:
        lines.append(
            f"- {record.record_type} {record.external_id}: {record.currency} "
            f"{record.total:,.2f}, {len(record.correction_ids)} line(s)"
        )
        for item in record.record["item"]["items"]:
            lines.append(
                f"  - {item['custcol_psa_correction_id']}: {item['description']} "
                f"({item['quantity']} x {item['rate']} = {item['amount']})"
            )
    return "\n".join(lines)


@dg.asset(
    name="erp_sync_invoices",
    group_name="reverse_sync",
    deps=[BILLING_CORRECTIONS],
    pool=WAREHOUSE_POOL,
    kinds={"netsuite"},
    description=(
        "Every billing correction into the ERP: draft invoice lines for unbilled time, expenses "
        "and milestones and for rate adjustments, credit memos for time billed twice or above "
        "the contract's rate; each written once, by external id, through a write-ahead outbox "
        "and ledger with a correlation id. Run config dry_run: true plans and writes nothing."
    ),
)
def erp_sync_invoices(
    context: dg.AssetExecutionContext,
    config: ErpSyncConfig,
    warehouse: Warehouse,
    source_systems: SourceSystems,
    erp_sync_policy: ErpSyncPolicy,
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

    if config.dry_run:
        records, awaiting = dry_run_plan(warehouse, erp_sync_policy.threshold)
        context.log.info("Dry run: nothing written. Plan:\n" + describe_plan(records))
        return dg.MaterializeResult(
            metadata={
                "dry_run": True,
                "new_corrections": sum(len(r.correction_ids) for r in records),
                "awaiting_approval": [c.correction_id for c in awaiting],
                "records_planned": len(records),
                "planned_by_type": plan_summary(records),
                "plan": dg.MetadataValue.md(describe_plan(records)),
            }
        )

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
        plan_and_send(client, warehouse, erp_sync_policy.threshold, report)
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
