"""Large corrections wait for a person before they reach the ERP.

A correction whose amount in the reporting currency is above the approval threshold (setting
PSA_SYNC_APPROVAL_THRESHOLD; none by default) is `awaiting_approval`: the sync leaves it out and
says so. Approving it (`psa-pipeline sync approve ID... --by NAME`, or the approve_corrections
job in the Dagster UI) records who and when, for that version of the correction: if its content
changes (billing_corrections.correction_version), the approval no longer holds and it waits
again. The approvals live beside the ledger, in reverse_sync.erp_sync_approvals.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import dagster as dg
from pydantic import Field

from psa_pipeline.reverse_sync import ledger
from psa_pipeline.reverse_sync.corrections import new_corrections
from psa_pipeline.reverse_sync.plan import Correction
from psa_pipeline.warehouse import WAREHOUSE_POOL, Warehouse


class ErpSyncPolicy(dg.ConfigurableResource):
    """How the sync treats large corrections (from settings: PSA_SYNC_APPROVAL_THRESHOLD)."""

    approval_threshold: str | None = Field(
        default=None,
        description="Corrections above this amount in the reporting currency wait for approval; "
        "none: every correction is sent",
    )

    @property
    def threshold(self) -> Decimal | None:
        return None if self.approval_threshold in (None, "") else Decimal(self.approval_threshold)


@dataclass(frozen=True)
class Split:
    sendable: list[Correction]
    awaiting: list[Correction]


def split_for_approval(conn, corrections: list[Correction], threshold: Decimal | None) -> Split:
    """Corrections the sync may send now, and those waiting for an approval of their version."""
    if threshold is None:
        return Split(corrections, [])
    approved = approvals(conn)
    sendable, awaiting = [], []
    for correction in corrections:
        needs = abs(correction.correction_reporting_amount) > threshold
        has = approved.get(correction.correction_id) == correction.correction_version
        (awaiting if needs and not has else sendable).append(correction)
    return Split(sendable, awaiting)


def approvals(conn) -> dict[str, str]:
    """correction id -> the version approved (nothing before the first approval)."""
    if not ledger.exists(conn, "erp_sync_approvals"):
        return {}
    rows = conn.execute(
        "select correction_id, correction_version from reverse_sync.erp_sync_approvals"
    ).fetchall()
    return dict(rows)


class NotAwaiting(ValueError):
    """An id that is not a correction waiting for approval (unknown, small, sent or approved)."""


def approve(
    conn, awaiting: Sequence[Correction], ids: Sequence[str], approved_by: str, note: str = ""
) -> list[Correction]:
    """Record the approval of these awaiting corrections, by whom and when; all or none."""
    if not approved_by.strip():
        raise ValueError("an approval needs the name of who approves")
    waiting = {c.correction_id: c for c in awaiting}
    unknown = [i for i in ids if i not in waiting]
    if unknown:
        raise NotAwaiting(
            f"not awaiting approval: {', '.join(unknown)} (see `psa-pipeline sync approvals`)"
        )
    chosen = [waiting[i] for i in dict.fromkeys(ids)]
    ledger.ensure_tables(conn)
    stamp = ledger.now()
    conn.executemany(
        "insert into reverse_sync.erp_sync_approvals values (?, ?, ?, ?, ?) "
        "on conflict (correction_id) do update set correction_version = excluded.correction_version, "
        "approved_by = excluded.approved_by, approved_at = excluded.approved_at, note = excluded.note",
        [[c.correction_id, c.correction_version, approved_by.strip(), stamp, note] for c in chosen],
    )
    return chosen


def describe_awaiting(awaiting: Sequence[Correction], threshold: Decimal | None) -> str:
    if not awaiting:
        return "Nothing awaits approval."
    lines = [
        f"{len(awaiting)} correction(s) above {threshold} (reporting currency) await approval:"
    ]
    for c in awaiting:
        lines.append(
            f"  {c.correction_id}: {c.correction_type} {c.project_code} "
            f"{c.correction_currency} {c.correction_amount:,.2f} "
            f"(reporting {c.correction_reporting_amount:,.2f})"
        )
    return "\n".join(lines)


class ApprovalConfig(dg.Config):
    correction_ids: list[str] = Field(
        description="The corrections approved (billing_corrections ids)"
    )
    approved_by: str = Field(description="Who approves them")
    note: str = Field(default="", description="Why, for the record")


@dg.op(pool=WAREHOUSE_POOL)
def approve_corrections(
    context: dg.OpExecutionContext,
    config: ApprovalConfig,
    warehouse: Warehouse,
    erp_sync_policy: ErpSyncPolicy,
) -> None:
    """Approve corrections awaiting approval, so the next sync sends them."""
    with warehouse.get_connection() as conn:
        waiting = split_for_approval(conn, new_corrections(conn), erp_sync_policy.threshold)
        chosen = approve(
            conn, waiting.awaiting, config.correction_ids, config.approved_by, config.note
        )
    context.log.info(f"{config.approved_by} approved {', '.join(c.correction_id for c in chosen)}")


@dg.job(
    description="Approve corrections awaiting approval (above PSA_SYNC_APPROVAL_THRESHOLD): "
    "records who and when, so the next ERP sync sends them. Config: correction_ids, approved_by."
)
def approve_corrections_job():
    approve_corrections()
