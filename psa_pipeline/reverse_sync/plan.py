"""Turn billing corrections into the ERP records that put them right.

Every kind in marts.billing_corrections becomes a line of a NetSuite record:

invoice_time       a draft invoice line for the hours at the entry's rate (custcol_time_entry_id)
invoice_expense    a draft invoice line for the expense (custcol_expense_id)
invoice_milestone  a draft invoice line for the milestone (custcol_milestone_id)
rate_adjustment    a one-unit draft invoice line for the difference to the contract's rate;
                   when the time was billed too high, a credit memo line instead (an invoice
                   must not total below zero); it names no time entry, since a line naming
                   the entry would read as billing it again
credit_duplicate   a credit memo line reversing the line that billed the entry again

A credit memo is created from and applied to the invoice holding the line it corrects.

Each line also carries the correction's id (custcol_psa_correction_id), so a refresh can tell
which leakage items the ERP now holds a correction for, and a leakage item can be followed to
its ERP record.

Invoice lines go on one draft invoice per project, customer and currency in a sync; credit
memo lines on one credit memo per invoice credited. A record's external id is derived from the
corrections it carries (a digest of their ids), so the same corrections always map to the same
ERP record, and a retried write is an upsert of the same record.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from psa_pipeline.money import money_text, quantity_text

INVOICE, CREDIT_MEMO = "invoice", "creditMemo"

# correction type -> (the ERP item the line sells, the custom column naming its source record)
LINE_KINDS = {
    "invoice_time": ("Professional Services", "custcol_time_entry_id"),
    "invoice_expense": ("Billable Expenses", "custcol_expense_id"),
    "invoice_milestone": ("Milestone", "custcol_milestone_id"),
    "rate_adjustment": ("Rate Adjustment", None),
    "credit_duplicate": ("Professional Services", "custcol_time_entry_id"),
}
CORRECTION_TYPES = tuple(LINE_KINDS)
INVOICE_MEMO = "PSA Pipeline: billing corrections for {months}"
CREDIT_MEMO_MEMO = "PSA Pipeline: credit against invoice {invoice}"


@dataclass(frozen=True)
class Correction:
    """A row of marts.billing_corrections, as the sync reads it."""

    correction_id: str
    correction_type: str
    project_code: str
    erp_customer_id: int
    time_entry_id: int | None
    expense_id: int | None
    milestone_id: int | None
    erp_invoice_id: int | None  # the invoice holding the line a correction corrects
    line_description: str | None
    spent_on: date
    billing_month: date
    quantity: Decimal
    rate_amount: Decimal
    correction_amount: Decimal
    correction_currency: str
    correction_version: str = ""  # a digest of the content: an approval holds for one version
    correction_reporting_amount: Decimal = Decimal(0)

    @property
    def is_credit(self) -> bool:
        """Put right by a credit memo: time billed twice, or billed above the contract's rate."""
        return self.correction_type == "credit_duplicate" or (
            self.correction_type == "rate_adjustment" and self.correction_amount < 0
        )

    @property
    def source_record_id(self) -> int | None:
        column = LINE_KINDS[self.correction_type][1]
        return {
            "custcol_time_entry_id": self.time_entry_id,
            "custcol_expense_id": self.expense_id,
            "custcol_milestone_id": self.milestone_id,
            None: None,
        }[column]


@dataclass(frozen=True)
class ErpRecord:
    record_type: str  # INVOICE or CREDIT_MEMO: the REST record type written
    external_id: str
    record: dict
    correction_ids: tuple[str, ...]

    @property
    def payload_hash(self) -> str:
        return digest(json.dumps(self.record, sort_keys=True))

    @property
    def total(self) -> Decimal:
        return sum((Decimal(line["amount"]) for line in self.record["item"]["items"]), Decimal(0))

    @property
    def currency(self) -> str:
        return self.record["currency"]["refName"]


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def plan_records(corrections: list[Correction]) -> list[ErpRecord]:
    """The ERP records for these corrections: draft invoices, then credit memos."""
    invoices: dict[tuple[str, int, str], list[Correction]] = defaultdict(list)
    credits: dict[tuple[int, int, str], list[Correction]] = defaultdict(list)
    for correction in corrections:
        if correction.is_credit:
            key = (
                correction.erp_invoice_id,
                correction.erp_customer_id,
                correction.correction_currency,
            )
            credits[key].append(correction)
        else:
            key = (
                correction.project_code,
                correction.erp_customer_id,
                correction.correction_currency,
            )
            invoices[key].append(correction)
    return [_draft_invoice(key, lines) for key, lines in sorted(invoices.items())] + [
        _credit_memo(key, lines) for key, lines in sorted(credits.items())
    ]


def _draft_invoice(key: tuple[str, int, str], corrections: list[Correction]) -> ErpRecord:
    project_code, customer_id, currency = key
    lines = _in_order(corrections)
    months = sorted({c.billing_month.strftime("%Y-%m") for c in lines})
    record = {
        "entity": {"id": str(customer_id)},
        "tranDate": max(c.spent_on for c in lines).isoformat(),
        "currency": {"refName": currency},
        "memo": INVOICE_MEMO.format(months=", ".join(months)),
        "custbody_project_code": project_code,
        "item": {"items": [_line(c) for c in lines]},
    }
    return _record(INVOICE, f"PSA-{project_code}", record, lines)


def _credit_memo(key: tuple[int, int, str], corrections: list[Correction]) -> ErpRecord:
    invoice_id, customer_id, currency = key
    lines = _in_order(corrections)
    total = sum((abs(c.correction_amount) for c in lines), Decimal(0))
    record = {
        "entity": {"id": str(customer_id)},
        "tranDate": max(c.spent_on for c in lines).isoformat(),
        "currency": {"refName": currency},
        "memo": CREDIT_MEMO_MEMO.format(invoice=invoice_id),
        "custbody_project_code": lines[0].project_code,
        "createdFrom": {"id": str(invoice_id)},
        "apply": {
            "items": [{"doc": {"id": str(invoice_id)}, "apply": True, "amount": money_text(total)}]
        },
        "item": {"items": [_line(c) for c in lines]},
    }
    return _record(CREDIT_MEMO, f"PSA-CM-{invoice_id}", record, lines)


def _in_order(corrections: list[Correction]) -> list[Correction]:
    return sorted(corrections, key=lambda c: (c.spent_on, c.correction_type, c.correction_id))


def _record(record_type: str, prefix: str, record: dict, lines: list[Correction]) -> ErpRecord:
    ids = tuple(c.correction_id for c in lines)
    external_id = f"{prefix}-{digest(','.join(sorted(ids)))[:12]}"
    return ErpRecord(record_type, external_id, record, ids)


def _line(correction: Correction) -> dict:
    item, source_column = LINE_KINDS[correction.correction_type]
    line = {
        "item": {"refName": item},
        "description": _description(correction),
        "quantity": quantity_text(correction.quantity),
        # a credit memo's lines are the credit given, positive
        "rate": money_text(
            abs(correction.rate_amount) if correction.is_credit else correction.rate_amount
        ),
        "amount": money_text(
            abs(correction.correction_amount)
            if correction.is_credit
            else correction.correction_amount
        ),
        "custcol_psa_correction_id": correction.correction_id,
    }
    if source_column:
        line[source_column] = correction.source_record_id
    return line


def _description(correction: Correction) -> str:
    who_or_what = correction.line_description or correction.project_code
    on = correction.spent_on.isoformat()
    if correction.correction_type == "rate_adjustment":
        return f"Rate adjustment: {who_or_what} {on}, billed at a superseded rate"
    if correction.correction_type == "credit_duplicate":
        return f"Credit: {who_or_what} {on}, billed twice"
    return f"{who_or_what} {on}"
