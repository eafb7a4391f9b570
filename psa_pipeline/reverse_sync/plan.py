"""Turn pending billing corrections into draft ERP invoices.

One draft invoice per project, customer and currency in a sync. Its external id is derived from
the corrections it carries (project code + a digest of their ids), so the same corrections always
map to the same ERP record, and a retried write is an upsert of the same record.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from psa_pipeline.money import money_text, quantity_text

LINE_ITEM = "Professional Services"
MEMO = "PSA Pipeline: approved billable time missing from the {month} invoice"


@dataclass(frozen=True)
class Correction:
    correction_id: str
    time_entry_id: int
    project_code: str
    erp_customer_id: int
    user_name: str
    spent_on: date
    billing_month: date
    hours: Decimal
    bill_rate_amount: Decimal
    correction_amount: Decimal
    correction_currency: str


@dataclass(frozen=True)
class DraftInvoice:
    external_id: str
    record: dict
    correction_ids: tuple[str, ...]

    @property
    def payload_hash(self) -> str:
        return digest(json.dumps(self.record, sort_keys=True))


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def plan_draft_invoices(corrections: list[Correction]) -> list[DraftInvoice]:
    groups: dict[tuple[str, int, str], list[Correction]] = defaultdict(list)
    for correction in corrections:
        key = (correction.project_code, correction.erp_customer_id, correction.correction_currency)
        groups[key].append(correction)
    return [_draft(key, lines) for key, lines in sorted(groups.items())]


def _draft(key: tuple[str, int, str], corrections: list[Correction]) -> DraftInvoice:
    project_code, customer_id, currency = key
    lines = sorted(corrections, key=lambda c: (c.spent_on, c.time_entry_id))
    ids = tuple(c.correction_id for c in lines)
    months = sorted({c.billing_month.strftime("%Y-%m") for c in lines})
    record = {
        "entity": {"id": str(customer_id)},
        "tranDate": max(c.spent_on for c in lines).isoformat(),
        "currency": {"refName": currency},
        "memo": MEMO.format(month=", ".join(months)),
        "custbody_project_code": project_code,
        "item": {
            "items": [
                {
                    "item": {"refName": LINE_ITEM},
                    "description": f"{c.user_name} {c.spent_on.isoformat()}",
                    "quantity": quantity_text(c.hours),
                    "rate": money_text(c.bill_rate_amount),
                    "amount": money_text(c.correction_amount),
                    "custcol_time_entry_id": c.time_entry_id,
                }
                for c in lines
            ]
        },
    }
    external_id = f"PSA-{project_code}-{digest(','.join(sorted(ids)))[:12]}"
    return DraftInvoice(external_id=external_id, record=record, correction_ids=ids)
