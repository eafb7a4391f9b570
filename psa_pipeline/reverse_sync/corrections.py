"""The billing corrections the sync has not taken up yet, read from the warehouse."""

from __future__ import annotations

from psa_pipeline.reverse_sync import ledger
from psa_pipeline.reverse_sync.plan import Correction

NEW_CORRECTIONS = """
select correction_id, correction_type, project_code, erp_customer_id, time_entry_id, expense_id,
       milestone_id, erp_invoice_id, line_description, spent_on, billing_month, quantity,
       rate_amount, correction_amount, correction_currency, correction_version,
       correction_reporting_amount
from marts.billing_corrections
where correction_id not in ({seen})
order by correction_id
"""
LEDGER_IDS = "select correction_id from reverse_sync.erp_sync_ledger"
NO_IDS = "select cast(null as varchar) where false"


def new_corrections(conn) -> list[Correction]:
    """Corrections the ledger has not seen yet (all of them before the first sync, whose
    ledger does not exist yet: a dry run only reads, so it does not create one). `conn` is a
    DuckDB connection or a read-only Postgres one."""
    seen = LEDGER_IDS if ledger.exists(conn) else NO_IDS
    return [Correction(*row) for row in conn.execute(NEW_CORRECTIONS.format(seen=seen)).fetchall()]
