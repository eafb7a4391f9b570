"""NetSuite from the sandbox through the ingest asset and staging, under more than one account
date format, and for a firm that never issued a credit memo."""

import dagster as dg
import pytest

from psa_pipeline.sandbox.plan import FirmConfig
from tests.conformance.harness import land, rows, stage
from tests.helpers import settings_for, start_sandbox

NO_CREDIT_MEMOS = FirmConfig(seed=8, size="small")


@pytest.mark.parametrize("date_format", ["DD/MM/YYYY", "DD.MM.YYYY"])
def test_the_firm_lands_and_stages_whatever_the_account_date_format(tmp_path, date_format):
    server = start_sandbox(tmp_path / "sandbox", netsuite_date_format=date_format)
    try:
        settings = settings_for(server, tmp_path / "data")
        with dg.instance_for_test() as instance:
            land("netsuite", settings, instance)
        stage("netsuite", settings, tmp_path)
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
        settings = settings_for(server, tmp_path / "data")
        with dg.instance_for_test() as instance:
            land("netsuite", settings, instance)
        stage("netsuite", settings, tmp_path)
    finally:
        server.stop()
    assert rows(settings, "select count(*) as n from raw_netsuite.credit_memos") == [{"n": 0}]
    for model in ("credit_memos", "credit_memo_lines"):
        assert rows(settings, f"select count(*) as n from staging.stg_netsuite__{model}") == [
            {"n": 0}
        ]
    assert rows(settings, "select count(*) as n from staging.stg_netsuite__payments")[0]["n"] > 0
