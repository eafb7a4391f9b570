"""Ground truth: every defect the generator injects, recorded as it happens.

Each item names its kind, the system and record where it can be seen, the money involved (with
its currency) and every source record involved, so a test can check that the pipeline found
exactly what was injected: the leakage items to the cent, the data-quality items by record.
The pipeline never reads this.
"""

from __future__ import annotations

import json
import random
from decimal import Decimal

from psa_pipeline.money import money_text
from psa_pipeline.sandbox.calendar import at, iso, months_before
from psa_pipeline.sandbox.plan import INITIAL_AS_OF, FirmConfig

LEAKAGE = {  # money the firm lost or owes: a leakage mart must find each, to the cent
    "unbilled_time",
    "superseded_rate",
    "time_billed_twice",
    "milestone_not_invoiced",
    "expense_not_invoiced",
    "won_deal_without_project",
    "unmapped_project_code",
}
DATA_QUALITY = {"duplicate_customer", "wrong_external_id", "malformed_record"}


def record_truth(
    conn,
    kind: str,
    system: str,
    record_id,
    amount: Decimal | None,
    currency: str | None,
    detail: str,
    records: dict[str, list],
) -> None:
    """`records` names every source record involved: {"<system>/<entity>": [ids]}."""
    if kind not in LEAKAGE | DATA_QUALITY:
        raise ValueError(f"unknown defect kind {kind!r}")
    category = "leakage" if kind in LEAKAGE else "data_quality"
    conn.execute(
        "insert into sandbox_truth values (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            kind,
            category,
            system,
            str(record_id),
            money_text(amount) if amount is not None else None,
            currency,
            detail,
            json.dumps({key: [str(i) for i in ids] for key, ids in records.items()}),
        ),
    )


# kind of breakage: (table, column, broken value, what the truth says)
MALFORMATIONS = [
    ("harvest_time_entries", "hours", 30.0, "hours greater than 24 in one day"),
    ("harvest_time_entries", "hours", -4.0, "negative hours"),
    ("harvest_time_entries", "hours", "seven", "hours sent as text"),
    ("harvest_time_entries", "project_id", None, "no project id"),
    ("harvest_expenses", "client_currency", "ZZZ", "unknown currency ZZZ"),
]
# table: (its endpoint, the invoice-line column that bills its records)
TABLES = {
    "harvest_time_entries": ("harvest/time_entries", "custcol_time_entry_id"),
    "harvest_expenses": ("harvest/expenses", "custcol_expense_id"),
}


def inject_malformed_records(conn, config: FirmConfig) -> None:
    """Re-write a few records broken, one kind after another, after everything else is drawn.

    A separate random stream keeps every other record identical to the clean firm of the same
    seed, so a test can load the clean firm and then the broken one into one warehouse. Only
    records that billing is done with are broken (non-billable, or invoiced before the month the
    next invoice run may bill again), so no later day of the firm bills a broken record; records
    already involved in another defect are left alone: each tells one story.
    """
    rng = random.Random(f"{config.seed}-malformed-records")
    involved = {
        record
        for (records,) in conn.execute("select records from sandbox_truth")
        for ids in json.loads(records).values()
        for record in ids
    }
    stamp = iso(at(INITIAL_AS_OF, 23, 59))
    settled_before = months_before(INITIAL_AS_OF, 1).isoformat()
    for n in range(config.defects.malformed_records):
        table, column, value, detail = MALFORMATIONS[n % len(MALFORMATIONS)]
        endpoint, billed_by = TABLES[table]
        ids = [
            str(i)
            for (i,) in conn.execute(
                f"select id from {table} r where billable = 0 or (spent_date < ? and exists "
                f"(select 1 from netsuite_transactionline l where l.{billed_by} = r.id)) order by id",
                (settled_before,),
            )
            if str(i) not in involved
        ]
        if not ids:
            raise ValueError(f"the firm has no {endpoint} record left to break ({detail})")
        record_id = rng.choice(ids)
        involved.add(record_id)
        conn.execute(
            f"update {table} set {column} = ?, updated_at = ? where id = ?",
            (value, stamp, int(record_id)),
        )
        record_truth(
            conn,
            "malformed_record",
            "harvest",
            record_id,
            None,
            None,
            detail,
            {endpoint: [record_id]},
        )
