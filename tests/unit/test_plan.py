from datetime import date
from decimal import Decimal

from psa_pipeline.reverse_sync.plan import Correction, plan_draft_invoices


def correction(
    entry_id: int, project: str = "PRJ-1", currency: str = "USD", hours="7.5", rate="150.00"
) -> Correction:
    return Correction(
        correction_id=f"unbilled-time-{entry_id}",
        time_entry_id=entry_id,
        project_code=project,
        erp_customer_id=5001,
        user_name="Ada Adler",
        spent_on=date(2026, 3, entry_id % 28 + 1),
        billing_month=date(2026, 3, 1),
        hours=Decimal(hours),
        bill_rate_amount=Decimal(rate),
        correction_amount=(Decimal(hours) * Decimal(rate)).quantize(Decimal("0.01")),
        correction_currency=currency,
    )


def test_one_draft_per_project_customer_and_currency():
    drafts = plan_draft_invoices(
        [
            correction(1),
            correction(2),
            correction(3, project="PRJ-2"),
            correction(4, currency="EUR"),
        ]
    )
    assert [
        (d.record["custbody_project_code"], d.record["currency"]["refName"], len(d.correction_ids))
        for d in drafts
    ] == [("PRJ-1", "EUR", 1), ("PRJ-1", "USD", 2), ("PRJ-2", "USD", 1)]


def test_same_corrections_give_the_same_external_id_and_payload_in_any_order():
    first = plan_draft_invoices([correction(1), correction(2)])[0]
    again = plan_draft_invoices([correction(2), correction(1)])[0]
    assert first.external_id == again.external_id
    assert first.payload_hash == again.payload_hash
    other = plan_draft_invoices([correction(1), correction(5)])[0]
    assert other.external_id != first.external_id


def test_lines_carry_exact_amounts_and_the_time_entry():
    draft = plan_draft_invoices([correction(1, hours="6.5", rate="185.00")])[0]
    line = draft.record["item"]["items"][0]
    assert line == {
        "item": {"refName": "Professional Services"},
        "description": "Ada Adler 2026-03-02",
        "quantity": "6.5",
        "rate": "185.00",
        "amount": "1202.50",
        "custcol_time_entry_id": 1,
    }


def test_whole_hours_are_sent_without_an_exponent():
    line = plan_draft_invoices([correction(1, hours="10.0000", rate="150.00")])[0].record["item"]
    assert (line["items"][0]["quantity"], line["items"][0]["amount"]) == ("10", "1500.00")
