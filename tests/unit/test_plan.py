from datetime import date
from decimal import Decimal

from psa_pipeline.reverse_sync.plan import CREDIT_MEMO, INVOICE, Correction, plan_records


def correction(
    entry_id: int,
    project: str = "PRJ-1",
    currency: str = "USD",
    hours="7.5",
    rate="150.00",
    kind: str = "invoice_time",
    amount: str | None = None,
    invoice_id: int | None = None,
) -> Correction:
    return Correction(
        correction_id=f"{kind}-{entry_id}",
        correction_type=kind,
        project_code=project,
        erp_customer_id=5001,
        time_entry_id=entry_id
        if kind in ("invoice_time", "credit_duplicate", "rate_adjustment")
        else None,
        expense_id=entry_id if kind == "invoice_expense" else None,
        milestone_id=entry_id if kind == "invoice_milestone" else None,
        erp_invoice_id=invoice_id,
        line_description="Ada Adler",
        spent_on=date(2026, 3, entry_id % 28 + 1),
        billing_month=date(2026, 3, 1),
        quantity=Decimal(hours),
        rate_amount=Decimal(rate),
        correction_amount=(
            Decimal(amount)
            if amount
            else (Decimal(hours) * Decimal(rate)).quantize(Decimal("0.01"))
        ),
        correction_currency=currency,
    )


def test_one_draft_per_project_customer_and_currency():
    records = plan_records(
        [
            correction(1),
            correction(2),
            correction(3, project="PRJ-2"),
            correction(4, currency="EUR"),
        ]
    )
    assert [
        (r.record["custbody_project_code"], r.currency, len(r.correction_ids)) for r in records
    ] == [("PRJ-1", "EUR", 1), ("PRJ-1", "USD", 2), ("PRJ-2", "USD", 1)]
    assert {r.record_type for r in records} == {INVOICE}


def test_same_corrections_give_the_same_external_id_and_payload_in_any_order():
    first = plan_records([correction(1), correction(2)])[0]
    again = plan_records([correction(2), correction(1)])[0]
    assert first.external_id == again.external_id
    assert first.payload_hash == again.payload_hash
    other = plan_records([correction(1), correction(5)])[0]
    assert other.external_id != first.external_id


def test_lines_carry_exact_amounts_the_source_record_and_the_correction():
    record = plan_records([correction(1, hours="6.5", rate="185.00")])[0]
    line = record.record["item"]["items"][0]
    assert line == {
        "item": {"refName": "Professional Services"},
        "description": "Ada Adler 2026-03-02",
        "quantity": "6.5",
        "rate": "185.00",
        "amount": "1202.50",
        "custcol_time_entry_id": 1,
        "custcol_psa_correction_id": "invoice_time-1",
    }


def test_whole_hours_are_sent_without_an_exponent():
    line = plan_records([correction(1, hours="10.0000", rate="150.00")])[0].record["item"]
    assert (line["items"][0]["quantity"], line["items"][0]["amount"]) == ("10", "1500.00")


def test_expenses_milestones_and_rate_adjustments_go_on_the_projects_draft_invoice():
    records = plan_records(
        [
            correction(1),
            correction(2, kind="invoice_expense", hours="1", rate="84.20"),
            correction(3, kind="invoice_milestone", hours="1", rate="5000.00"),
            correction(4, kind="rate_adjustment", hours="1", rate="37.50", invoice_id=900),
        ]
    )
    assert len(records) == 1 and records[0].record_type == INVOICE
    lines = {line["custcol_psa_correction_id"]: line for line in records[0].record["item"]["items"]}
    assert lines["invoice_expense-2"]["custcol_expense_id"] == 2
    assert lines["invoice_milestone-3"]["custcol_milestone_id"] == 3
    adjustment = lines["rate_adjustment-4"]
    # an adjustment names no time entry: the refresh would read it as billing the entry again
    assert "custcol_time_entry_id" not in adjustment
    assert (adjustment["item"]["refName"], adjustment["amount"]) == ("Rate Adjustment", "37.50")
    assert records[0].total == Decimal("1125.00") + Decimal("84.20") + Decimal("5037.50")


def test_double_billing_and_overbilled_rates_are_credit_memos_applied_to_their_invoice():
    records = plan_records(
        [
            correction(1, kind="credit_duplicate", hours="3", rate="100.00", invoice_id=900),
            correction(2, kind="credit_duplicate", hours="2", rate="100.00", invoice_id=901),
            correction(3, kind="rate_adjustment", hours="1", rate="-12.50", invoice_id=900),
        ]
    )
    assert [(r.record_type, r.record["createdFrom"]["id"]) for r in records] == [
        (CREDIT_MEMO, "900"),
        (CREDIT_MEMO, "901"),
    ]
    first = records[0]
    # a credit memo's lines are the credit given, positive; applied in full to the invoice
    assert [(line["amount"], line["rate"]) for line in first.record["item"]["items"]] == [
        ("300.00", "100.00"),
        ("12.50", "12.50"),
    ]
    assert first.record["apply"]["items"] == [
        {"doc": {"id": "900"}, "apply": True, "amount": "312.50"}
    ]
    assert first.record["item"]["items"][0]["custcol_time_entry_id"] == 1
    assert first.external_id.startswith("PSA-CM-900-")
