"""NetSuite from the sandbox through the ingest asset and staging, under more than one account
date format, for a firm that never issued a credit memo, and with the corrections a reverse sync
wrote back."""

import dagster as dg
import pytest

from psa_pipeline.sandbox.plan import FirmConfig
from tests.conformance.harness import land, rows, stage
from tests.helpers import (
    correction_lines,
    credit_memo_body,
    firm_invoices,
    invoice_body,
    put_record,
    read_record,
    settings_for,
    start_sandbox,
)

NO_CREDIT_MEMOS = FirmConfig(seed=8, size="small")


def land_and_stage(server, tmp_path):
    """The NetSuite ingest into a warehouse in tmp_path, then its staging models: the settings."""
    settings = settings_for(server, tmp_path / "data")
    with dg.instance_for_test() as instance:
        land("netsuite", settings, instance)
    stage("netsuite", settings, tmp_path)
    return settings


@pytest.mark.parametrize("date_format", ["DD/MM/YYYY", "DD.MM.YYYY"])
def test_the_firm_lands_and_stages_whatever_the_account_date_format(tmp_path, date_format):
    server = start_sandbox(tmp_path / "sandbox", netsuite_date_format=date_format)
    try:
        settings = land_and_stage(server, tmp_path)
        with server.store.connect() as store:
            invoices = dict(
                store.execute(
                    "select id, trandate from netsuite_transaction where type = 'CustInvc'"
                ).fetchall()
            )
            billed = store.execute(
                "select sum(cast(foreignamount as decimal)) from netsuite_transactionline l "
                "join netsuite_transaction t on t.id = l.\"transaction\" where t.type = 'CustInvc'"
            ).fetchone()[0]
    finally:
        server.stop()
    staged = rows(settings, "select invoice_id, invoiced_on from staging.stg_netsuite__invoices")
    assert {r["invoice_id"]: r["invoiced_on"].isoformat() for r in staged} == invoices
    (total,) = rows(
        settings, "select sum(line_amount) as s from staging.stg_netsuite__invoice_lines"
    )
    assert float(total["s"]) == pytest.approx(billed) and total["s"] > 0  # signs turned back


def test_a_firm_without_credit_memos_lands_the_table_and_builds_staging(tmp_path):
    server = start_sandbox(tmp_path / "sandbox", NO_CREDIT_MEMOS)
    try:
        with server.store.connect() as store:
            assert not store.execute(
                "select count(*) from netsuite_transaction where type = 'CustCred'"
            ).fetchone()[0]
        settings = land_and_stage(server, tmp_path)
    finally:
        server.stop()
    assert rows(settings, "select count(*) as n from raw_netsuite.credit_memos") == [{"n": 0}]
    for model in ("credit_memos", "credit_memo_lines"):
        assert rows(settings, f"select count(*) as n from staging.stg_netsuite__{model}") == [
            {"n": 0}
        ]
    assert rows(settings, "select count(*) as n from staging.stg_netsuite__payments")[0]["n"] > 0


def test_corrections_written_to_the_erp_land_and_stage_with_their_correction_ids(tmp_path):
    """A corrected invoice (time, expense and milestone lines, each naming its correction) and a
    credit memo created from and applied to a firm invoice come back through the next ingest."""
    server = start_sandbox(tmp_path / "sandbox")
    try:
        (invoice,) = firm_invoices(server, count=1)
        body = invoice_body() | {"item": correction_lines()}
        assert put_record(server, "invoice", "CORR-INV", body).status_code == 204
        memo = credit_memo_body(invoice, (str(invoice["id"]), "12.50"))
        assert put_record(server, "creditMemo", "CORR-CM", memo).status_code == 204
        invoice_id = int(read_record(server, "invoice", "CORR-INV")["id"])
        memo_id = int(read_record(server, "creditMemo", "CORR-CM")["id"])
        settings = land_and_stage(server, tmp_path)
    finally:
        server.stop()
    landed = rows(
        settings,
        'select "transaction", custcol_psa_correction_id, custcol_expense_id, '
        "custcol_milestone_id from raw_netsuite.invoice_lines "
        "where custcol_psa_correction_id is not null order by uniquekey",
    )
    expected = [("c-time", None, None), ("c-exp", "2", None), ("c-ms", None, "3")]
    assert [
        (r["custcol_psa_correction_id"], r["custcol_expense_id"], r["custcol_milestone_id"])
        for r in landed
    ] == expected * 2
    assert {int(r["transaction"]) for r in landed} == {invoice_id, memo_id}
    for model, key in (("invoice_lines", "invoice_id"), ("credit_memo_lines", "credit_memo_id")):
        staged = rows(
            settings,
            f"select {key}, correction_id, expense_id, milestone_id "
            f"from staging.stg_netsuite__{model} where correction_id is not null "
            "order by line_number",
        )
        assert [(r["correction_id"], r["expense_id"], r["milestone_id"]) for r in staged] == [
            ("c-time", None, None),
            ("c-exp", 2, None),
            ("c-ms", None, 3),
        ]
        assert {r[key] for r in staged} == {invoice_id if model == "invoice_lines" else memo_id}
    assert (
        rows(
            settings,
            "select count(*) as n from staging.stg_netsuite__transaction_lines "
            "where correction_id is null",
        )[0]["n"]
        > 0
    )  # the firm's own lines name no correction
    (credit,) = rows(
        settings,
        f"select invoice_id from staging.stg_netsuite__credit_memos where credit_memo_id = {memo_id}",
    )
    assert credit["invoice_id"] == invoice["id"]
    (link,) = rows(
        settings,
        "select invoice_id, applied_amount, link_type, is_credit_memo, applied_on "
        f"from staging.stg_netsuite__transaction_links where credit_memo_id = {memo_id}",
    )
    assert (link["invoice_id"], str(link["applied_amount"]), link["link_type"]) == (
        invoice["id"],
        "12.50",
        "Credit Memo",
    )
    assert link["is_credit_memo"] and link["applied_on"].isoformat() == "2026-06-30"
