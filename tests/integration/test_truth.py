"""Every defect the sandbox records as ground truth can be seen in the systems' own APIs.

The pipeline never reads the truth; these tests prove a careful reader of the five APIs could
find each defect, so a pipeline that misses one has a bug, not a sandbox that hides it. They run
on a small firm with the rarer defects made common, so that every kind occurs.
"""

from collections import Counter
from decimal import Decimal

import pytest

from psa_pipeline.money import to_cents
from psa_pipeline.sandbox.firm import advance
from psa_pipeline.sandbox.plan import DefectRates, FirmConfig
from psa_pipeline.sandbox.truth import DATA_QUALITY, LEAKAGE, MALFORMATIONS
from tests.helpers import (
    harvest_records,
    hubspot_objects,
    kantata_records,
    start_sandbox,
    suiteql,
    truth,
)

EVERY_KIND = FirmConfig(
    seed=7,
    size="small",
    defects=DefectRates(
        milestone_not_invoiced=0.75,
        expense_not_invoiced=0.2,
        wrong_external_id=0.5,
        malformed_records=len(MALFORMATIONS),
    ),
)


@pytest.fixture(scope="module")
def firm(tmp_path_factory):
    server = start_sandbox(tmp_path_factory.mktemp("firm"), EVERY_KIND)
    yield server
    server.stop()


def test_the_firm_has_every_kind_the_sandbox_promises(firm):
    defects = truth(firm)
    assert {d["kind"] for d in defects} == LEAKAGE | DATA_QUALITY
    for defect in defects:
        assert defect["category"] == ("leakage" if defect["kind"] in LEAKAGE else "data_quality")
        assert bool(defect["amount"] and defect["currency"]) == (defect["kind"] in LEAKAGE)
        assert defect["records"] and all(defect["records"].values())
    malformed = Counter(d["detail"] for d in defects if d["kind"] == "malformed_record")
    assert set(malformed) == {detail for *_, detail in MALFORMATIONS}


def test_every_defect_is_visible_in_the_apis(firm):
    entries = {e["id"]: e for e in harvest_records(firm, "time_entries")}
    expenses = {e["id"]: e for e in harvest_records(firm, "expenses")}
    lines = {line["uniquekey"]: line for line in suiteql(firm, "select * from transactionline")}
    billed = Counter(line.get("custcol_time_entry_id") for line in lines.values())
    billed_expenses = {line.get("custcol_expense_id") for line in lines.values()}
    billed_milestones = {line.get("custcol_milestone_id") for line in lines.values()}
    invoiced_codes = {
        i["custbody_project_code"] for i in suiteql(firm, "select * from transaction")
    }
    workspaces = {w["title"].split(" ", 1)[0] for w in kantata_records(firm, "workspaces")}
    stories = {s["id"]: s for s in kantata_records(firm, "stories")}
    jobs = {j["entityid"] for j in suiteql(firm, "select * from job")}
    customers = {c["id"]: c for c in suiteql(firm, "select * from customer")}
    companies = {c["id"]: c["properties"] for c in hubspot_objects(firm, "companies")}
    crm = {d["id"]: d["properties"] for d in hubspot_objects(firm, "deals")}
    code_of = {p["id"]: p["code"] for p in harvest_records(firm, "projects")}
    time_tool_codes = set(code_of.values())

    for defect in truth(firm):
        kind, record = defect["kind"], defect["record_id"]
        if kind == "unbilled_time":
            entry = entries[int(record)]
            assert entry["is_closed"] and entry["billable"] and billed[record] == 0
        elif kind == "time_billed_twice":
            assert billed[record] == 2
        elif kind == "superseded_rate":
            (entry_id,) = defect["records"]["harvest/time_entries"]
            assert lines[record]["custcol_time_entry_id"] == entry_id
            assert Decimal(lines[record]["rate"]) == Decimal(
                str(entries[int(entry_id)]["billable_rate"])
            )
        elif kind == "milestone_not_invoiced":
            story = stories[record]
            assert story["state"] == "completed" and record not in billed_milestones
            assert Decimal(story["budget_estimate_in_cents"]) / 100 == Decimal(defect["amount"])
        elif kind == "expense_not_invoiced":
            expense = expenses[int(record)]
            assert expense["is_closed"] and expense["billable"] and record not in billed_expenses
            assert Decimal(str(expense["total_cost"])) == Decimal(defect["amount"])
        elif kind == "unmapped_project_code":
            entry = entries[int(record)]
            code = code_of[entry["project"]["id"]]  # a time entry names its project's id only
            assert code not in workspaces | invoiced_codes | jobs
            assert code not in {d["psa_project_code"] for d in crm.values()}
            hours, rate = (Decimal(str(entry[f])) for f in ("hours", "billable_rate"))
            assert Decimal(defect["amount"]) == to_cents(hours * rate)
        elif kind == "won_deal_without_project":
            deal = crm[record]
            code = deal["psa_project_code"]
            assert deal["dealstage"] == "closedwon" and code
            assert code not in workspaces | jobs | invoiced_codes | time_tool_codes
            assert deal["amount"] == defect["amount"]
        elif kind == "duplicate_customer":
            original, copy = (customers[i] for i in defect["records"]["netsuite/customer"])
            assert copy["id"] == record and original["url"] == copy["url"]
            assert original["companyname"] != copy["companyname"]
        elif kind == "wrong_external_id":
            customer = customers[record]
            right, wrong = defect["records"]["hubspot/companies"]
            assert customer["externalid"] == wrong != right
            assert customer["url"].endswith(companies[right]["domain"])
            assert companies[wrong]["createdate"] <= customer["datecreated"]
        elif kind == "malformed_record":
            ((endpoint, (record_id,)),) = defect["records"].items()
            item = (entries if endpoint == "harvest/time_entries" else expenses)[int(record_id)]
            assert _malformed(item), defect["detail"]


def _malformed(item: dict) -> bool:
    """What a careful reader would refuse in a Harvest time entry or expense."""
    hours = item.get("hours", 0)
    if not isinstance(hours, int | float) or not 0 <= hours <= 24:
        return True
    currency = item["client"].get("currency")  # an expense's client has one, an entry's not
    return item["project"]["id"] is None or currency not in {None, "USD", "EUR", "GBP"}


def test_a_firm_with_malformed_records_moves_on_without_billing_them(tmp_path):
    firm = start_sandbox(tmp_path, EVERY_KIND)  # its own copy: it moves the clock
    try:
        broken = {d["record_id"] for d in truth(firm, "malformed_record")}
        advance(firm.store, EVERY_KIND, 40)  # two invoice runs: nothing may bill a broken record
        query = (
            "select * from transactionline where mainline = 'F' "
            "and linelastmodifieddate > TO_DATE('2026-07-01', 'YYYY-MM-DD')"
        )
        lines = suiteql(firm, query)
    finally:
        firm.stop()
    assert lines
    billed = {line.get("custcol_time_entry_id") for line in lines}
    billed |= {line.get("custcol_expense_id") for line in lines}
    assert not broken & billed
