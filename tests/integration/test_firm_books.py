"""The sandbox firm's books add up, read the way a connector reads them: through the APIs.

Contracts have a clean version history; each billing model invoices what its contract says;
payments and credit memos apply to real invoices; rates exist for every day. Where a defect
bends a rule, the ground truth names the exception, and nothing else may bend it.
"""

from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest
import requests

from psa_pipeline.money import to_cents
from psa_pipeline.sandbox.fx import LONG_RUN
from psa_pipeline.sandbox.plan import OPEN_STAGES
from tests.helpers import (
    ERP_ITEM_LINES,
    ERP_RATES,
    ERP_TRANSACTIONS,
    harvest_records,
    hr_roles_by_email,
    hubspot_objects,
    kantata_records,
    start_sandbox,
    suiteql,
    truth,
)


@pytest.fixture(scope="module")
def firm(tmp_path_factory):
    """One small firm for every test here: they only read."""
    server = start_sandbox(tmp_path_factory.mktemp("firm"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def contracts(firm) -> dict[str, list[dict]]:
    """Contract versions (properties) by contract number, oldest first."""
    by_number = defaultdict(list)
    for record in hubspot_objects(firm, "p_contracts"):
        by_number[record["properties"]["contract_number"]].append(record["properties"])
    return {
        number: sorted(versions, key=lambda v: int(v["version_number"]))
        for number, versions in by_number.items()
    }


@pytest.fixture(scope="module")
def lines(firm) -> list[dict]:
    return suiteql(firm, ERP_ITEM_LINES)


@pytest.fixture(scope="module")
def transactions(firm) -> dict[str, dict]:
    return {t["id"]: t for t in suiteql(firm, ERP_TRANSACTIONS)}


def as_of(firm) -> date:
    return date.fromisoformat(
        requests.get(f"{firm.url}/_sandbox/health", timeout=10).json()["as_of"]
    )


def in_force(versions: list[dict], day: str) -> dict:
    return next((v for v in reversed(versions) if v["effective_date"] <= day), versions[0])


def invoiced_by(day: date, month: str) -> bool:
    """Whether the invoice run for `month` (YYYY-MM) has happened by `day` (the 15th after)."""
    first = date.fromisoformat(f"{month}-01")
    return (first + timedelta(days=31)).replace(day=15) <= day


def test_contract_versions_form_a_clean_history(contracts):
    assert {v[0]["billing_model"] for v in contracts.values()} == {
        "time_and_materials",
        "fixed_fee",
        "milestone",
        "retainer",
    }
    assert any(len(versions) > 1 for versions in contracts.values())
    for versions in contracts.values():
        assert [int(v["version_number"]) for v in versions] == list(range(1, len(versions) + 1))
        assert [v["contract_status"] for v in versions] == ["superseded"] * (len(versions) - 1) + [
            "active"
        ]
        effective = [v["effective_date"] for v in versions]
        assert effective == sorted(set(effective))
        assert (
            all(v["amendment_reason"] for v in versions[1:]) and not versions[0]["amendment_reason"]
        )


def test_each_deal_quote_adds_up_to_the_deal_amount(firm):
    deals = {d["id"]: Decimal(d["properties"]["amount"]) for d in hubspot_objects(firm, "deals")}
    quoted = defaultdict(Decimal)
    for item in hubspot_objects(firm, "line_items", associations="deals"):
        # one deal, listed once per association type (labelled and unlabelled)
        (deal,) = {association["id"] for association in item["associations"]["deals"]["results"]}
        quoted[deal] += Decimal(item["properties"]["amount"])
    assert quoted == deals


def test_time_is_billed_at_the_contract_rate_in_force_unless_truth_says_superseded(
    firm, contracts, lines
):
    entries = {e["id"]: e for e in harvest_records(firm, "time_entries")}
    codes = {p["id"]: p["code"] for p in harvest_records(firm, "projects")}  # not on the entry
    emails = {u["id"]: u["email"] for u in harvest_records(firm, "users")}
    roles = hr_roles_by_email(firm)
    by_code = {versions[0]["project_code"]: versions for versions in contracts.values()}
    superseded = {int(d["record_id"]): d for d in truth(firm, "superseded_rate")}
    assert superseded
    checked = 0
    for line in lines:
        if "custcol_time_entry_id" not in line:
            continue
        entry = entries[int(line["custcol_time_entry_id"])]
        role = roles[emails[entry["user"]["id"]]]
        version = in_force(by_code[codes[entry["project"]["id"]]], entry["spent_date"])
        contract_rate = Decimal(version[f"rate_{role.lower().replace(' ', '_')}"])
        billed_rate = Decimal(line["rate"])
        if int(line["uniquekey"]) in superseded:
            hours = Decimal(str(entry["hours"]))
            assert billed_rate != contract_rate
            assert Decimal(superseded[int(line["uniquekey"])]["amount"]) == to_cents(
                hours * contract_rate
            ) - to_cents(hours * billed_rate)
        else:
            assert billed_rate == contract_rate
        checked += 1
    assert checked > 1000


def test_fixed_fees_and_retainers_bill_what_the_contract_says(firm, contracts, lines, transactions):
    today = as_of(firm)
    fees = defaultdict(dict)  # contract number -> {month: amount}
    for line in lines:
        if line["item"] in ("Fixed fee", "Retainer"):
            number, month = line["memo"].split()
            assert transactions[line["transaction"]]["type"] == "CustInvc"
            fees[number][month] = Decimal(line["foreignamount"])
    models = {v[0]["billing_model"] for number, v in contracts.items() if number in fees}
    assert models == {"fixed_fee", "retainer"}
    finished = 0
    for number, versions in contracts.items():
        model, ends = versions[0]["billing_model"], versions[0]["end_date"]
        if model == "retainer":
            for month, amount in fees[number].items():
                assert amount == Decimal(in_force(versions, f"{month}-01")["monthly_fee"])
        if model == "fixed_fee" and invoiced_by(today, ends[:7]):
            assert sum(fees[number].values()) == Decimal(versions[-1]["total_value"])
            finished += 1
    assert finished


def test_completed_milestones_are_invoiced_or_named_in_the_truth(firm, contracts, lines):
    today = as_of(firm)
    invoiced = defaultdict(list)
    for line in lines:
        if "custcol_milestone_id" in line:
            invoiced[line["custcol_milestone_id"]].append(Decimal(line["foreignamount"]))
    missed = {d["record_id"] for d in truth(firm, "milestone_not_invoiced")}
    due = [
        s
        for s in kantata_records(firm, "stories")
        if s["story_type"] == "milestone"
        and s["budget_estimate_in_cents"]
        and invoiced_by(today, s["due_date"][:7])
    ]
    assert due
    for story in due:
        assert story["state"] == "completed"
        billed = invoiced.pop(story["id"], [])
        if story["id"] in missed:
            assert billed == []
        else:
            assert billed == [Decimal(story["budget_estimate_in_cents"]) / 100]
    assert not invoiced  # nothing billed that is not a completed milestone


def test_approved_billable_expenses_are_invoiced_or_named_in_the_truth(firm, lines):
    today = as_of(firm)
    billed = defaultdict(int)
    for line in lines:
        if "custcol_expense_id" in line:
            billed[int(line["custcol_expense_id"])] += 1
    missed = {int(d["record_id"]) for d in truth(firm, "expense_not_invoiced")}
    expenses = harvest_records(firm, "expenses")
    due = [
        e
        for e in expenses
        if e["billable"] and e["is_closed"] and invoiced_by(today, e["spent_date"][:7])
    ]
    assert due and len(due) < len(expenses)
    for expense in due:
        assert billed[expense["id"]] == (0 if expense["id"] in missed else 1)
    assert set(billed) <= {e["id"] for e in due}


def test_payments_and_credit_memos_apply_to_invoices(firm, transactions):
    """NetSuite links a payment or credit memo to each invoice it applies to, with link type
    'Payment' for both; a payment of several invoices has a row for each."""
    links = suiteql(firm, "select * from previoustransactionlink")
    applied, spent = defaultdict(Decimal), defaultdict(Decimal)
    for link in links:
        document, invoice = transactions[link["nextdoc"]], transactions[link["previousdoc"]]
        assert invoice["type"] == "CustInvc" and link["linktype"] == "Payment"
        assert document["type"] == link["nexttype"] in ("CustPymt", "CustCred")
        assert Decimal(link["foreignamount"]) > 0
        assert (
            document["trandate"] >= invoice["trandate"]
            and document["currency"] == invoice["currency"]
            and document["entity"] == invoice["entity"]
        )
        applied[invoice["id"]] += Decimal(link["foreignamount"])
        spent[document["id"]] += Decimal(link["foreignamount"])
    documents = [t for t in transactions.values() if t["type"] in ("CustPymt", "CustCred")]
    assert {d["id"] for d in documents} == set(spent)
    assert all(Decimal(d["foreigntotal"]) == spent[d["id"]] for d in documents)
    assert max(Counter(link["nextdoc"] for link in links).values()) > 1  # several invoices
    invoices = [t for t in transactions.values() if t["type"] == "CustInvc"]
    for invoice in invoices:
        total, paid = Decimal(invoice["foreigntotal"]), applied[invoice["id"]]
        assert paid <= total
        assert (invoice["status"] == "B") == (paid == total)  # B: paid in full, A: open
    statuses = {invoice["status"] for invoice in invoices}
    assert statuses == {"A", "B"}
    assert {link["nexttype"] for link in links} == {"CustPymt", "CustCred"}


def test_exchange_rates_are_published_every_day(firm):
    rates = defaultdict(list)
    for rate in suiteql(firm, ERP_RATES):
        assert rate["basecurrency"] == "USD"
        rates[rate["transactioncurrency"]].append(
            (rate["effectivedate"], Decimal(rate["exchangerate"]))
        )
    assert set(rates) == set(LONG_RUN)
    for currency, series in rates.items():
        days = sorted(day for day, _ in series)
        first = date.fromisoformat(days[0])
        assert days == [(first + timedelta(days=n)).isoformat() for n in range(len(days))]
        assert days[-1] == as_of(firm).isoformat()
        level = Decimal(str(LONG_RUN[currency]))
        assert all(level * Decimal("0.8") < value < level * Decimal("1.25") for _, value in series)
        assert len({value for _, value in series}) > len(series) // 2  # rates move


def test_clients_have_parents_and_cross_references_in_each_system(firm):
    companies = {c["id"]: c["properties"] for c in hubspot_objects(firm, "companies")}
    parents = {p["hs_parent_company_id"] for p in companies.values()} - {None}
    assert parents and parents <= set(companies)
    customers = {c["id"]: c for c in suiteql(firm, "select * from customer")}
    assert {c["parent"] for c in customers.values() if "parent" in c} <= set(customers)
    wrong = {d["record_id"] for d in truth(firm, "wrong_external_id")}
    for customer_id, customer in customers.items():
        if "externalid" in customer and customer_id not in wrong:
            company = companies[customer["externalid"]]
            assert customer["url"].endswith(company["domain"])
    noted = [c for c in companies.values() if c["netsuite_customer_id"]]
    assert noted and all(c["netsuite_customer_id"] in customers for c in noted)
    jobs = suiteql(firm, "select * from job")
    codes = {d["properties"]["psa_project_code"] for d in hubspot_objects(firm, "deals")}
    assert jobs and all(j["parent"] in customers and j["entityid"] in codes for j in jobs)
    projects = harvest_records(firm, "projects")
    assert {p["client"]["id"] for p in projects} == {
        c["id"] for c in harvest_records(firm, "clients")
    }


def test_the_psa_rate_cards_follow_the_contract_versions(firm, contracts):
    """Each workspace bills on a rate card of its contract's set, in the contract's currency,
    with a set version (a rate card role per role, cents per hour) from each version's
    effective date that changed the rates."""
    by_code = {versions[0]["project_code"]: versions for versions in contracts.values()}
    sets = {s["id"]: s["title"] for s in kantata_records(firm, "rate_card_sets")}
    cards = {c["id"]: c for c in kantata_records(firm, "rate_cards")}
    effective = {
        v["id"]: v["effective_date"] for v in kantata_records(firm, "rate_card_set_versions")
    }
    roles = {r["id"]: r["name"].lower().replace(" ", "_") for r in kantata_records(firm, "roles")}
    rates = defaultdict(dict)  # rate card version -> role -> cents per hour
    for rate in kantata_records(firm, "rate_card_roles"):
        rates[rate["rate_card_version_id"]][roles[rate["role_id"]]] = rate["rate"]
    dated = defaultdict(list)  # rate card -> (effective date, its rates)
    for version in kantata_records(firm, "rate_card_versions"):
        when = effective[version["rate_card_set_version_id"]]
        dated[version["rate_card_id"]].append((when, rates[version["id"]]))
    workspaces = kantata_records(firm, "workspaces")
    assert workspaces
    for workspace in workspaces:
        versions = by_code[workspace["title"].split(" ", 1)[0]]
        card = cards[workspace["rate_card_id"]]
        assert sets[card["rate_card_set_id"]] == versions[0]["contract_number"]
        assert card["currency"] == workspace["currency"]
        by_date = {v["effective_date"]: v for v in versions}
        for when, cents in dated[card["id"]]:
            assert {role: Decimal(c) / 100 for role, c in cents.items()} == {
                role: Decimal(by_date[when][f"rate_{role}"]) for role in roles.values()
            }
        rate_changes = sum(1 for v in versions[1:] if v["amendment_reason"] == "Rate change")
        assert len(dated[card["id"]]) == 1 + rate_changes


def test_deals_move_through_the_pipeline_stages(firm):
    """An open deal is at the stage a quarter of its way to the close date calls for."""
    today = as_of(firm)
    deals = [d["properties"] for d in hubspot_objects(firm, "deals")]
    stages = {d["dealstage"] for d in deals}
    assert {"closedwon", "closedlost", "contractsent"} <= stages
    in_flight = [d for d in deals if d["closedate"][:10] > today.isoformat()]
    assert in_flight
    for deal in in_flight:
        created, closes = (date.fromisoformat(deal[f][:10]) for f in ("createdate", "closedate"))
        span = (closes - created).days
        reached = [
            stage
            for n, stage in enumerate(OPEN_STAGES)
            if created + timedelta(days=span * n // 4) <= today
        ]
        assert deal["dealstage"] == reached[-1]


def test_the_time_tool_follows_fee_and_pay_changes(firm, contracts):
    """Its fixed fee is the latest contract value; its cost rate is HR's latest pay."""
    by_code = {versions[0]["project_code"]: versions for versions in contracts.values()}
    fixed = [p for p in harvest_records(firm, "projects") if p["is_fixed_fee"]]
    assert any(len(by_code[p["code"]]) > 1 for p in fixed)
    for project in fixed:
        assert Decimal(str(project["fee"])) == Decimal(by_code[project["code"]][-1]["total_value"])
    with firm.store.connect() as conn:  # HR's latest rate per e-mail, from its compensation table
        latest = dict(
            conn.execute(
                "select e.work_email, c.rate from bamboohr_employees e join bamboohr_compensation c "
                "on c.employee_id = e.id where c.start_date = (select max(start_date) from "
                "bamboohr_compensation where employee_id = e.id)"
            ).fetchall()
        )
    users = harvest_records(firm, "users")
    assert users and all(f"{u['cost_rate']:.2f}" == latest[u["email"]] for u in users)
