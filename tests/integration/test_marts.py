"""The margin, backlog, WIP, utilization, close, sold-by-role, rate card and task marts,
against the sandbox's own books.

The small firm is served over HTTP, ingested by the dlt assets into a fresh DuckDB file and
built by `dbt build` (models, data tests, unit tests) up to the marts of this module. Its clock
is then moved on three weeks (past the 15th, so June is invoiced and closes), one PSA rate is
raised off its contract, the new activity ingested and the marts built again. The tests read
the second build and compare it with what the sandbox serves over its APIs; the close snapshot
and the rate card findings are compared across the two builds.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import requests

from psa_pipeline.sandbox.server import SandboxServer
from psa_pipeline.settings import Settings
from tests.helpers import (
    BAMBOOHR,
    BAMBOOHR_AUTH,
    dbt,
    harvest_records,
    hr_field_by_email,
    hubspot_objects,
    settings_for,
    start_sandbox,
    suiteql,
)
from tests.integration.test_ingest import materialize

pytestmark = pytest.mark.slow  # two ingests and two dbt builds, about two minutes

MARTS = [
    "+project_margin_monthly",
    "+backlog_monthly",
    "+unbilled_wip",
    "+utilization_practice_monthly",
    "+month_end_close_snapshots",
    "+billing_corrections",
    "+sold_vs_delivered_by_role",
    "+rate_card_disagreements",
    "+billable_work_by_task_monthly",
    "+integration_health",
]
ADVANCE_DAYS = 21  # 2026-06-30 -> 2026-07-21: June's invoices go out on 15 July


@dataclass
class Built:
    server: SandboxServer
    settings: Settings
    first_close: list[tuple]  # month_end_close_snapshots after the first build
    first_as_of: tuple  # int_as_of__derived after the first build
    first_corrections: dict[str, tuple]  # billing_corrections after the first build
    edited_correction: str  # the correction whose time entry the vendor then changed
    first_rate_findings: list[tuple] = field(default_factory=list)  # after the first build
    raised_rate: tuple = ()  # the finding the PSA rate raised before the second build makes

    def query(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.settings.warehouse_path), read_only=True) as conn:
            return conn.execute(sql).fetchall()


def dbt_build(directory: Path, warehouse: Path) -> None:
    dbt("build", directory, warehouse, "--select", *MARTS, "--indirect-selection", "cautious")


# what an ERP record of a correction carries, and its version
CORRECTION_CONTENT = (
    "correction_type, project_code, erp_customer_id, line_description, time_entry_id, "
    "expense_id, milestone_id, invoice_line_id, quantity, rate_amount, correction_amount, "
    "correction_currency, billing_month"
)


def corrections(built: Built) -> dict[str, tuple]:
    """correction id -> (version, content)."""
    return {
        row[0]: (row[1], row[2:])
        for row in built.query(
            f"select correction_id, correction_version, {CORRECTION_CONTENT} "
            "from marts.billing_corrections"
        )
    }


def add_an_hour(server: SandboxServer, time_entry_id: int) -> None:
    """The time tool changes an entry: an hour more, stamped after everything else."""
    with server.store.connect() as store:
        (newest,) = store.execute("select max(updated_at) from harvest_time_entries").fetchone()
        stamp = datetime.fromisoformat(newest.replace("Z", "+00:00")) + timedelta(seconds=1)
        store.execute(
            "update harvest_time_entries set hours = hours + 1, updated_at = ? where id = ?",
            (stamp.strftime("%Y-%m-%dT%H:%M:%SZ"), time_entry_id),
        )


RATE_FINDING = (
    "project_code, role_key, disagreement, psa_rate_amount, psa_rate_currency, "
    "contract_rate_amount, contract_rate_currency, valid_from, valid_to"
)


def rate_findings(built: Built) -> list[tuple]:
    return built.query(
        f"select {RATE_FINDING} from marts.rate_card_disagreements order by 1, 2, valid_from"
    )


def raise_a_psa_rate(server: SandboxServer) -> tuple:
    """The PSA raises one role's rate on one project's card by 10.00 an hour, off the
    contract's; returns the finding that makes (as RATE_FINDING orders it): from the card
    version's effective date until the set's next version, if any."""
    with server.store.connect() as store:
        card_role, rate, role, card, set_id, effective_on = store.execute(
            "select r.id, r.rate, roles.name, cv.rate_card_id, sv.rate_card_set_id, "
            "sv.effective_date from kantata_rate_card_roles r "
            "join kantata_roles roles on roles.id = r.role_id "
            "join kantata_rate_card_versions cv on cv.id = r.rate_card_version_id "
            "join kantata_rate_card_set_versions sv on sv.id = cv.rate_card_set_version_id "
            "order by r.id limit 1"
        ).fetchone()
        (superseded_on,) = store.execute(
            "select min(effective_date) from kantata_rate_card_set_versions "
            "where rate_card_set_id = ? and active = 1 and effective_date > ?",
            (set_id, effective_on),
        ).fetchone()
        title, currency = store.execute(
            "select w.title, c.currency from kantata_workspaces w "
            "join kantata_rate_cards c on c.id = w.rate_card_id where w.rate_card_id = ?",
            (card,),
        ).fetchone()
        (newest,) = store.execute("select max(updated_at) from kantata_rate_card_roles").fetchone()
        stamp = datetime.fromisoformat(newest.replace("Z", "+00:00")) + timedelta(seconds=1)
        store.execute(
            "update kantata_rate_card_roles set rate = rate + 1000, updated_at = ? where id = ?",
            (stamp.strftime("%Y-%m-%dT%H:%M:%SZ"), card_role),
        )
    return (
        title.split()[0],
        role.lower().replace(" ", "_"),
        "rate",
        Decimal(rate + 1000) / 100,
        currency,
        Decimal(rate) / 100,
        currency,
        date.fromisoformat(effective_on),
        date.fromisoformat(superseded_on) if superseded_on else None,
    )


def close_rows(built: Built) -> list[tuple]:
    return built.query("select * from marts.month_end_close_snapshots order by close_snapshot_id")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("marts")
    server = start_sandbox(tmp / "sandbox")
    try:
        settings = settings_for(server, tmp / "data")
        first = Built(server, settings, [], (), {}, "")
        with dg.DagsterInstance.ephemeral() as instance:
            materialize(server, settings, instance)
        dbt_build(tmp, settings.warehouse_path)
        first_close = close_rows(first)
        (first_as_of,) = first.query("select * from intermediate.int_as_of__derived")
        first_corrections = corrections(first)
        first_rate_findings = rate_findings(first)
        edited, time_entry_id = first.query(
            "select correction_id, time_entry_id from marts.billing_corrections "
            "where correction_type = 'invoice_time' order by correction_id limit 1"
        )[0]
        moved = requests.post(
            f"{server.url}/_sandbox/advance", params={"days": ADVANCE_DAYS}, timeout=300
        )
        moved.raise_for_status()
        add_an_hour(server, time_entry_id)
        raised_rate = raise_a_psa_rate(server)
        with dg.DagsterInstance.ephemeral() as instance:
            materialize(server, settings, instance)
        dbt_build(tmp, settings.warehouse_path)
        yield Built(
            server,
            settings,
            first_close,
            first_as_of,
            first_corrections,
            edited,
            first_rate_findings,
            raised_rate,
        )
    finally:
        server.stop()


def per_project(rows) -> dict[str, Decimal]:
    totals: Counter = Counter()
    for code, amount in rows:
        totals[code] += Decimal(str(amount))
    return {code: amount for code, amount in totals.items() if amount}


def test_billed_per_project_is_the_erp_invoices_less_credit_memos(built):
    documents = suiteql(
        built.server,
        "select custbody_project_code, type, status, foreigntotal from transaction",
    )
    erp = per_project(
        (
            d["custbody_project_code"],
            Decimal(d["foreigntotal"]) * (1 if d["type"] == "CustInvc" else -1),
        )
        for d in documents
        if d["type"] in ("CustInvc", "CustCred") and (d["type"], d["status"]) != ("CustInvc", "D")
    )
    mart = per_project(
        built.query("select project_code, billed_amount from marts.project_margin_monthly")
    )
    assert erp and mart == erp


def test_collected_per_project_is_the_erp_payments(built):
    payments = suiteql(
        built.server,
        "select custbody_project_code, foreigntotal from transaction where type = 'CustPymt'",
    )
    erp = per_project((p["custbody_project_code"], p["foreigntotal"]) for p in payments)
    mart = per_project(
        built.query("select project_code, collected_amount from marts.project_margin_monthly")
    )
    assert erp and mart == erp


def test_delivered_hours_are_harvest_approved_billable_hours(built):
    entries = harvest_records(built.server, "time_entries")
    codes = {p["id"]: p["code"] for p in harvest_records(built.server, "projects")}
    harvest = per_project(
        (codes[e["project"]["id"]], e["hours"]) for e in entries if e["is_closed"] and e["billable"]
    )
    mart = per_project(
        built.query(
            "select project_code, delivered_billable_hours from marts.project_margin_monthly"
        )
    )
    assert harvest and mart == harvest


def test_the_waterfall_to_date_adds_up(built):
    """Every project's last row carries the sums of its months; eac = delivered + plan ahead."""
    wrong = built.query(
        """
        with last_rows as (
            select *, row_number() over (partition by project_code order by margin_month desc)
                as rank_from_last
            from marts.project_margin_monthly
        ),
        sums as (
            select project_code, sum(delivered_amount) as delivered, sum(billed_amount) as billed,
                sum(collected_amount) as collected
            from marts.project_margin_monthly group by 1
        )
        select last_rows.project_code
        from last_rows join sums using (project_code)
        where rank_from_last = 1 and (
            delivered_to_date_amount <> delivered
            or billed_to_date_amount <> billed
            or collected_to_date_amount <> collected
            or eac_amount <> delivered_to_date_amount + remaining_planned_amount
            or billed_amount <> invoiced_amount - credited_amount
        )
        """
    )
    assert wrong == []


def test_delivered_time_and_materials_is_billed_leaked_or_wip(built):
    """On a T&M project, the value of approved billable time is what its invoice lines bill
    (each entry once), plus what revenue_leakage says was lost on it (left off, or billed at a
    superseded rate), plus what is still work in progress: to the cent."""
    rows = built.query(
        """
        with delivered as (
            select project_code, sum(bill_amount) as amount from marts.fct_time_entry
            where is_approved and is_billable and billing_model = 'time_and_materials'
            group by 1
        ),
        billed as (
            select project_code, sum(line_amount) as amount from marts.fct_invoice_line
            where time_entry_id is not null and not is_draft group by 1
        ),
        leaked as (
            select project_code, sum(case when cause = 'time_billed_twice'
                then -leakage_amount else leakage_amount end) as amount
            from marts.revenue_leakage
            where cause in ('unbilled_time', 'superseded_rate', 'time_billed_twice')
            group by 1
        ),
        wip as (
            select project_code, sum(wip_amount) as amount from marts.unbilled_wip
            where wip_type = 'time' group by 1
        )
        select delivered.project_code, delivered.amount,
            coalesce(billed.amount, 0), coalesce(leaked.amount, 0), coalesce(wip.amount, 0)
        from delivered
        left join billed using (project_code)
        left join leaked using (project_code)
        left join wip using (project_code)
        """
    )
    assert rows
    assert [r for r in rows if r[1] != r[2] + r[3] + r[4]] == []
    assert sum(r[4] for r in rows) > 0  # July's work is in progress on 21 July


def test_wip_is_only_what_the_billing_run_has_not_reached(built):
    as_of_on, closed_through = built.query(
        "select as_of_on, closed_through_month from intermediate.int_as_of__derived"
    )[0]
    assert as_of_on == date(2026, 7, 21) and closed_through == date(2026, 6, 1)
    ages = built.query(
        "select min(work_on), max(work_on), count(*), "
        "count(distinct aging_bucket) from marts.unbilled_wip"
    )[0]
    assert ages[0] >= date(2026, 7, 1) and ages[1] <= as_of_on and ages[2] > 0
    leaked_as_wip = built.query(
        "select count(*) from marts.unbilled_wip join marts.revenue_leakage using (time_entry_id)"
    )
    assert leaked_as_wip == [(0,)]


def _employees(server: SandboxServer) -> dict[str, dict]:
    report = requests.post(
        f"{server.url}{BAMBOOHR}/reports/custom",
        params={"format": "JSON"},
        json={"fields": ["id", "hireDate", "terminationDate", "standardHoursPerWeek"]},
        headers=BAMBOOHR_AUTH,
        timeout=30,
    ).json()["employees"]
    return {e["id"]: e for e in report}


def test_available_hours_leave_out_weekends_time_off_and_days_not_employed(built):
    """For every consultant with time off in May 2026: weekdays employed less weekdays off,
    times fte (standard hours over a 40-hour week) x 8 hours, computed here from what BambooHR
    serves."""
    month, end = date(2026, 5, 1), date(2026, 5, 31)
    leave = requests.get(
        f"{built.server.url}{BAMBOOHR}/time_off/requests",
        params={"start": month.isoformat(), "end": end.isoformat()},
        headers=BAMBOOHR_AUTH | {"Accept": "application/json"},  # BambooHR answers XML otherwise
        timeout=30,
    ).json()
    employees = _employees(built.server)
    days = [month + timedelta(days=n) for n in range((end - month).days + 1)]
    expected = {}
    for employee_id in {r["employeeId"] for r in leave if r["status"]["status"] == "approved"}:
        person = employees[employee_id]
        hired = date.fromisoformat(person["hireDate"])
        ended = person["terminationDate"]  # BambooHR's empty date is 0000-00-00
        left = None if ended == "0000-00-00" else date.fromisoformat(ended)
        off = {
            date.fromisoformat(r["start"]) + timedelta(days=n)
            for r in leave
            if r["employeeId"] == employee_id and r["status"]["status"] == "approved"
            for n in range((date.fromisoformat(r["end"]) - date.fromisoformat(r["start"])).days + 1)
        }
        working = [d for d in days if d.weekday() < 5 and hired <= d and (left is None or d < left)]
        hours = Decimal(person["standardHoursPerWeek"]) / 40 * 8  # fte x 8 hours
        expected[int(employee_id)] = (
            Decimal(len(working)) * hours,
            Decimal(len([d for d in working if d in off])) * hours,
        )
    found = {
        resource: (capacity, time_off)
        for resource, capacity, time_off in built.query(
            "select resource_id, capacity_hours, time_off_hours from marts.utilization_monthly "
            f"where utilization_month = '{month}'"
        )
        if resource in expected
    }
    assert expected and any(off for _, off in expected.values())
    assert found == expected
    available = dict(
        built.query(
            "select resource_id, available_hours from marts.utilization_monthly "
            f"where utilization_month = '{month}'"
        )
    )
    assert all(available[r] == cap - off for r, (cap, off) in expected.items())


def test_a_closed_month_is_never_rewritten_and_the_new_close_is_appended(built):
    first_as_of_on, first_closed = built.first_as_of[1], built.first_as_of[4]
    assert (first_as_of_on, first_closed) == (date(2026, 6, 30), date(2026, 5, 1))
    assert built.first_close
    after = close_rows(built)
    earlier_months = [row for row in after if row[-3] <= first_closed]
    assert earlier_months == built.first_close  # every column, every row, unchanged
    appended = {row[-3] for row in after} - {row[-3] for row in built.first_close}
    assert appended == {date(2026, 6, 1)}
    # the June close saw the run of 15 July: June billed, and billed as the ERP has it
    june_billed = built.query(
        "select sum(billed_amount) from marts.month_end_close_snapshots "
        "where close_month = '2026-06-01'"
    )[0][0]
    assert june_billed > 0


def test_a_correction_keeps_its_id_and_its_version_changes_exactly_with_its_content(built):
    before, after = built.first_corrections, corrections(built)
    edited = built.edited_correction
    assert edited in after and after[edited][0] != before[edited][0]
    assert after[edited][1] != before[edited][1]  # an hour more, so more to bill
    kept = [cid for cid in before if cid in after and cid != edited]
    assert kept
    for cid in kept:
        same_content = after[cid][1] == before[cid][1]
        assert (after[cid][0] == before[cid][0]) == same_content, cid


def _approved_time(server: SandboxServer) -> list[dict]:
    """Harvest's approved time entries, each with its project code."""
    codes = {p["id"]: p["code"] for p in harvest_records(server, "projects")}
    return [
        e | {"code": codes[e["project"]["id"]]}
        for e in harvest_records(server, "time_entries")
        if e["is_closed"]
    ]


def _hr_by_harvest_user(server: SandboxServer, field: str) -> dict[int, str]:
    """An HR field of each Harvest user, through the work e-mail both systems hold."""
    by_email = {email.lower(): value for email, value in hr_field_by_email(server, field).items()}
    return {u["id"]: by_email.get(u["email"].lower()) for u in harvest_records(server, "users")}


def _key(text: str | None) -> str | None:
    return None if text is None else text.strip().lower().replace(" ", "_")


def test_legal_entity_is_the_subsidiary_of_the_projects_erp_customer(built):
    erp = {
        row["entityid"]: row["name"]
        for row in suiteql(
            built.server,
            "select j.entityid, s.name from job j join customer c on c.id = j.parent "
            "join subsidiary s on s.id = c.subsidiary",
        )
    }
    mart = dict(
        built.query(
            "select project_code, legal_entity from marts.dim_project where erp_job_id is not null"
        )
    )
    assert len(set(erp.values())) == 3 and mart == erp
    assert built.query(
        "select count(*) from marts.dim_project where erp_customer_id is null "
        "and legal_entity is not null"
    ) == [(0,)]
    # the marts a page filters carry the project's
    for mart_name in ("project_margin_monthly", "backlog_monthly", "unbilled_wip"):
        assert built.query(
            f"select count(*) from marts.{mart_name} m join marts.dim_project p using "
            "(project_code) where m.legal_entity is distinct from p.legal_entity "
            "or m.practice is distinct from p.practice"
        ) == [(0,)], mart_name


def test_practice_is_the_department_that_delivered_most_approved_hours(built):
    departments = _hr_by_harvest_user(built.server, "department")
    hours: Counter = Counter()
    for entry in _approved_time(built.server):
        department = departments[entry["user"]["id"]]
        if department:
            hours[entry["code"], department] += Decimal(str(entry["hours"]))
    leading: dict[str, tuple] = {}
    for (code, department), total in hours.items():
        if total and (code not in leading or (-total, department) < leading[code]):
            leading[code] = (-total, department)
    expected = {code: department for code, (_, department) in leading.items()}
    mart = dict(
        built.query(
            "select project_code, practice from marts.dim_project where practice is not null"
        )
    )
    assert len(set(expected.values())) > 1 and mart == expected


def test_sold_by_role_is_the_quote_and_delivered_by_role_is_approved_time(built):
    codes = {
        d["id"]: d["properties"]["psa_project_code"]
        for d in hubspot_objects(built.server, "deals")
        if d["properties"].get("psa_project_code")
    }
    sold: dict[tuple, list[Decimal]] = {}
    for line in hubspot_objects(built.server, "line_items", associations="deals"):
        # one deal, listed once per association label
        (deal,) = {a["id"] for a in line["associations"]["deals"]["results"]}
        name = line["properties"]["name"]
        if deal in codes and " - " in name:
            key = (codes[deal], _key(name.split(" - ", 1)[1]))
            totals = sold.setdefault(key, [Decimal(0), Decimal(0)])
            totals[0] += Decimal(line["properties"]["quantity"])
            totals[1] += Decimal(line["properties"]["amount"])
    mart_sold = {
        (code, role): [hours, amount]
        for code, role, hours, amount in built.query(
            "select project_code, role_key, sold_hours, sold_amount "
            "from marts.sold_vs_delivered_by_role where is_sold"
        )
    }
    assert sold and mart_sold == sold
    roles = _hr_by_harvest_user(built.server, "jobTitle")
    delivered: Counter = Counter()
    for entry in _approved_time(built.server):
        delivered[entry["code"], _key(roles[entry["user"]["id"]])] += Decimal(str(entry["hours"]))
    mart_delivered = dict(
        ((code, role), hours)
        for code, role, hours in built.query(
            "select project_code, role_key, delivered_hours "
            "from marts.sold_vs_delivered_by_role where is_delivered"
        )
    )
    assert delivered and mart_delivered == dict(delivered)


def test_rate_cards_agree_with_contracts_until_the_psa_raises_a_rate(built):
    """The sandbox keeps the PSA's cards on the contracts: no finding on the first build, though
    every project with a workspace and a contract was compared; after one rate is raised, that
    one and nothing else, counted in integration_health."""
    assert built.first_rate_findings == []
    compared = built.query(
        "select count(distinct project_code) from intermediate.int_rate_cards__compared"
    )[0][0]
    expected_projects = built.query(
        "select count(*) from marts.dim_project where psa_workspace_id is not null "
        "and contract_number is not null"
    )[0][0]
    assert compared == expected_projects > 0
    assert rate_findings(built) == [built.raised_rate]
    counted = built.query(
        "select sum(measured_count), sum(exception_count) from marts.integration_health "
        "where metric_name = 'rate_card_disagreements'"
    )
    assert counted == [
        (built.query("select count(*) from intermediate.int_rate_cards__compared")[0][0], 1)
    ]


def test_billable_work_by_task_is_harvest_approved_time_per_task_and_month(built):
    tasks = {t["id"]: t["name"] for t in harvest_records(built.server, "tasks")}
    expected: dict[tuple, list[Decimal]] = {}
    for entry in _approved_time(built.server):
        month = date.fromisoformat(entry["spent_date"]).replace(day=1)
        totals = expected.setdefault((tasks[entry["task"]["id"]], month), [Decimal(0)] * 2)
        totals[0] += Decimal(str(entry["hours"]))
        totals[1] += Decimal(str(entry["hours"])) if entry["billable"] else Decimal(0)
    mart = {
        (task, month): [hours, billable]
        for task, month, hours, billable in built.query(
            "select task_name, work_month, sum(hours), sum(billable_hours) "
            "from marts.billable_work_by_task_monthly group by 1, 2"
        )
    }
    assert len(tasks) > 1 and mart == expected
    # every approved hour's delivered value, once
    assert built.query(
        "select sum(delivered_reporting_amount) from marts.billable_work_by_task_monthly"
    ) == built.query(
        "select sum(coalesce(bill_reporting_amount, 0)) from marts.fct_time_entry where is_approved"
    )
