"""The sandbox services firm: its plan played one day at a time into the five systems.

The plan (plan.py) fixes everything structural from the seed. The simulation plays the firm day
by day from the first CRM or HR record to the firm's "today": companies and deals enter the CRM,
contracts are signed and amended, people are hired and leave, projects are set up in the PSA,
the time tool and the ERP, exchange rates are published; from the first day of the firm's size
consultants also log time and expenses, timesheets are approved, and on the 15th the ERP
invoices the month before (billing.py), after which credit memos and payments follow.

Each day draws from its own random streams (seed + date + concern) and writes to the store, so
simulating days 1-10 then 11-20 gives exactly what simulating days 1-20 does, and `advance` is
deterministic. Only one day's activity is ever held in memory, which keeps a large firm out of
the server's RSS. Every timestamp comes from the simulated calendar, never the wall clock.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from psa_pipeline.money import money_text, quantity_text, to_cents
from psa_pipeline.sandbox.billing import INVOICE_DAY, invoice_month, settle
from psa_pipeline.sandbox.calendar import at, iso, months_before
from psa_pipeline.sandbox.fx import publish_rates
from psa_pipeline.sandbox.plan import (
    ENTITIES,
    INITIAL_AS_OF,
    ROLES,
    Client,
    Consultant,
    ContractVersion,
    FirmConfig,
    FirmPlan,
    Project,
    first_day,
    horizon,
    plan_firm,
)
from psa_pipeline.sandbox.store import SandboxStore, insert
from psa_pipeline.sandbox.truth import inject_malformed_records, record_truth

DAYS_PER_COMMIT = 31
DAY_HOURS = [6, 7, 7.5, 8, 8, 8.5, 9]
ENTRIES_PER_DAY = [1, 2, 2, 3]
TASKS = [(90, "Delivery"), (91, "Design"), (92, "Project management"), (93, "Workshops")]
ARCHIVED_AFTER_DAYS = 30  # a closed project is archived in the PSA a month later
PSA_ROLE_IDS = {role: 9001 + n for n, role in enumerate(ROLES)}  # the PSA account's roles
# each legal entity's office, in Harvest's time zone names (api-v2 supported time zones)
HARVEST_TIME_ZONES = {"US": "Eastern Time (US & Canada)", "UK": "London", "DE": "Berlin"}
EXPENSE_CATEGORIES = [  # id, name, cost range
    (71, "Travel", (80, 900)),
    (72, "Lodging", (90, 400)),
    (73, "Meals", (15, 90)),
    (74, "Mileage", (10, 120)),
]


def generate(config: FirmConfig, store: SandboxStore) -> None:
    """Create the store and simulate the firm from its first record to INITIAL_AS_OF."""
    store.create()
    plan = plan_firm(config)
    with store.transaction() as conn:
        insert(
            conn,
            "firm_meta",
            [
                {"key": key, "value": value}
                for key, value in {
                    "seed": str(config.seed),
                    "size": config.size,
                    "key": config.key,
                    "defects": config.defects_json,
                    "knobs": config.knobs_json,
                    "empty_systems": json.dumps(config.empty_systems),
                    "as_of": (plan.earliest - timedelta(days=1)).isoformat(),
                }.items()
            ],
        )
    simulate_until(store, plan, config, INITIAL_AS_OF)
    if config.defects.malformed_records:
        with store.transaction() as conn:
            inject_malformed_records(conn, config)
    store.clear_systems(config.empty_systems)


def simulate_until(store: SandboxStore, plan: FirmPlan, config: FirmConfig, last: date) -> None:
    """Play every day after the store's as_of, up to and including `last`.

    A month of days is committed at a time, with the clock: readers never see half a day, and
    a firm stopped half-way resumes from its last committed day.
    """
    if last > horizon():
        raise ValueError(f"the firm is planned up to {horizon()}; cannot simulate to {last}")
    day = date.fromisoformat(store.meta("as_of")) + timedelta(days=1)
    while day <= last:
        with store.transaction() as conn:
            for _ in range(DAYS_PER_COMMIT):
                _simulate_day(conn, plan, config, day)
                conn.execute(
                    "update firm_meta set value = ? where key = 'as_of'", (day.isoformat(),)
                )
                day += timedelta(days=1)
                if day > last:
                    break


def advance(store: SandboxStore, config: FirmConfig, days: int) -> date:
    """Move the firm's clock forward by `days`, adding their activity."""
    if days < 1:
        raise ValueError("days must be at least 1")
    last = date.fromisoformat(store.meta("as_of")) + timedelta(days=days)
    simulate_until(store, plan_firm(config), config, last)
    store.clear_systems(config.empty_systems)
    return last


def _simulate_day(conn, plan: FirmPlan, config: FirmConfig, day: date) -> None:
    def stream(concern: str) -> random.Random:
        return random.Random(f"{config.seed}:{day.isoformat()}:{concern}")

    if day == plan.earliest:
        _founding_records(conn, day)
    publish_rates(conn, config.seed, day)
    _crm_events(conn, plan, day)
    _hr_events(conn, plan, day)
    _erp_records(conn, plan, config, day)
    _psa_events(conn, plan, day)
    _time_tool_records(conn, plan, day)
    if day >= first_day(config.scale) and day.weekday() < 5:
        working = _working(plan, day)
        _log_time(conn, stream("time"), plan, config, day, working)
        _log_expenses(conn, stream("expenses"), day, working)
    if day.weekday() == 0:
        _approve_timesheets(conn, day)
    if day.day == INVOICE_DAY:
        invoice_month(conn, stream("billing"), plan, config, months_before(day, 1), day)
    settle(conn, day)


def _founding_records(conn, day: date) -> None:
    """What exists before anything happens: the legal entities, the time tool's tasks and the
    PSA account's roles."""
    stamp = iso(at(day, 7))
    insert(
        conn,
        "netsuite_subsidiary",
        [
            {
                "id": sid,
                "name": name,
                "currency": currency,
                "country": country,
                "lastmodifieddate": stamp,
            }
            for currency, _, country, sid, name in ENTITIES.values()
        ],
    )
    insert(
        conn,
        "harvest_tasks",
        [
            {
                "id": tid,
                "name": name,
                "billable_by_default": 1,
                "is_active": 1,
                "created_at": stamp,
                "updated_at": stamp,
            }
            for tid, name in TASKS
        ],
    )
    insert(conn, "kantata_roles", [{"id": rid, "name": role} for role, rid in PSA_ROLE_IDS.items()])


# ---------------------------------------------------------------------------------- CRM


def crm_stamp(moment: datetime, record_id: int) -> str:
    """A HubSpot timestamp as HubSpot writes it (Java's `Instant.toString`): UTC, `Z`, and the
    milliseconds only when there are any (`2023-02-24T03:00:26.696Z`, `2023-01-15T05:00:00Z`).
    People save records at any millisecond, so each record gets its own (a few whole seconds
    among them): text order then differs from time order, as in a real portal."""
    millis = record_id * 7919 % 1000 if record_id % 5 else 0
    stamp = moment.astimezone(UTC) + timedelta(milliseconds=millis)
    text = stamp.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{millis:03d}Z" if millis else f"{text}Z"


def _crm_events(conn, plan: FirmPlan, day: date) -> None:
    """Companies and deals with their quotes; contracts signed on a win, and amended later."""
    created = at(day, 10)
    insert(
        conn,
        "hubspot_companies",
        [
            {
                "id": client.company_id,
                "name": client.name,
                "domain": client.domain,
                "country": ENTITIES[client.entity][2],
                "hs_parent_company_id": client.parent.company_id if client.parent else None,
                "netsuite_customer_id": None,
                "createdate": crm_stamp(created, client.company_id),
                "hs_lastmodifieddate": crm_stamp(created, client.company_id),
            }
            for client in plan.companies_created_on.get(day, [])
        ],
    )
    for deal in plan.deals_created_on.get(day, []):
        insert(
            conn,
            "hubspot_deals",
            [
                {
                    "id": deal.id,
                    "dealname": deal.name,
                    "amount": money_text(deal.amount),
                    "deal_currency_code": deal.client.currency,
                    "dealstage": "appointmentscheduled",
                    "pipeline": "default",
                    "closedate": crm_stamp(at(deal.closes_on, 16), 0),
                    "psa_project_code": None,
                    "company_id": deal.client.company_id,
                    "createdate": crm_stamp(created, deal.id),
                    "hs_lastmodifieddate": crm_stamp(created, deal.id),
                }
            ],
        )
        insert(
            conn,
            "hubspot_line_items",
            [
                {
                    "id": deal.id * 10 + n,
                    "deal_id": deal.id,
                    "name": line.name,
                    "quantity": quantity_text(line.quantity),
                    "price": money_text(line.price),
                    "amount": money_text(line.amount),
                    "hs_line_item_currency_code": deal.client.currency,
                    "createdate": crm_stamp(created, deal.id * 10 + n),
                    "hs_lastmodifieddate": crm_stamp(created, deal.id * 10 + n),
                }
                for n, line in enumerate(deal.quote)
            ],
        )
    for _, deal, stage in plan.deal_stages_on.get(day, []):
        conn.execute(
            "update hubspot_deals set dealstage = ?, hs_lastmodifieddate = ? where id = ?",
            (stage, crm_stamp(at(day, 14), deal.id), deal.id),
        )
    closed = at(day, 16)
    for deal in plan.deals_closing_on.get(day, []):
        conn.execute(
            "update hubspot_deals set dealstage = ?, psa_project_code = ?, hs_lastmodifieddate = ? "
            "where id = ?",
            (
                deal.stage_at_close,
                deal.project.code if deal.project else None,
                crm_stamp(closed, deal.id),
                deal.id,
            ),
        )
        if deal.project:
            _sign_contract_version(conn, deal.project, deal.project.contract.versions[0], closed)
    for project, version in plan.amendments_signed_on.get(day, []):
        conn.execute(  # the version replaced is saved in the same moment as the new one
            "update hubspot_contracts set contract_status = 'superseded', hs_lastmodifieddate = ? "
            "where contract_number = ? and contract_status = 'active'",
            (crm_stamp(closed, version.id), project.contract.number),
        )
        _sign_contract_version(conn, project, version, closed)


def _sign_contract_version(
    conn, project: Project, version: ContractVersion, signed: datetime
) -> None:
    """A custom object's creation date is `hs_createdate` (standard objects say `createdate`)."""
    stamp = crm_stamp(signed, version.id)
    insert(
        conn,
        "hubspot_contracts",
        [
            {
                "id": version.id,
                "contract_number": project.contract.number,
                "version_number": version.number,
                "deal_id": project.deal_id,
                "project_code": project.code,
                "billing_model": project.contract.billing_model,
                "contract_currency": project.client.currency,
                "effective_date": version.effective_on.isoformat(),
                "end_date": project.ends_on.isoformat(),
                "total_value": money_text(version.total_value),
                "monthly_fee": money_text(version.monthly_fee) if version.monthly_fee else None,
                **{
                    f"rate_{role.lower().replace(' ', '_')}": money_text(version.rates[role])
                    for role in ROLES
                },
                "amendment_reason": version.reason,
                "contract_status": "active",
                "hs_createdate": stamp,
                "hs_lastmodifieddate": stamp,
            }
        ],
    )


# ---------------------------------------------------------------------------------- HR


def _hr_events(conn, plan: FirmPlan, day: date) -> None:
    """Hires, pay changes, holiday requests and leavers, as HR records them that day."""
    stamp = iso(at(day, 8))
    insert(
        conn,
        "bamboohr_employees",
        [
            {
                "id": c.id,
                "first_name": c.first_name,
                "last_name": c.last_name,
                "job_title": c.role,
                "department": c.practice,
                "division": c.entity,
                "location": ENTITIES[c.entity][1],
                "work_email": c.email,
                "supervisor_id": None,
                "hire_date": day.isoformat(),
                "termination_date": None,
                "status": "Active",
                "fte": 1.0,
                "created": stamp,
                "last_changed": stamp,
            }
            for c in plan.hired_on.get(day, [])
        ],
    )
    insert(
        conn,
        "bamboohr_compensation",
        [
            {
                "id": change.id,
                "employee_id": c.id,
                "start_date": day.isoformat(),
                "rate": money_text(change.rate),
                "currency": c.currency,
                "pay_type": "Hourly",
                "reason": change.reason,
                "last_changed": stamp,
            }
            for c, change in plan.pay_changes_on.get(day, [])
        ],
    )
    # BambooHR stamps the employee, not the table: a pay change is a change to the employee
    conn.executemany(
        "update bamboohr_employees set last_changed = ? where id = ?",
        [(stamp, c.id) for c, _ in plan.pay_changes_on.get(day, [])],
    )
    insert(
        conn,
        "bamboohr_time_off",
        [
            {
                "id": leave.id,
                "employee_id": c.id,
                "start_date": leave.starts_on.isoformat(),
                "end_date": leave.ends_on.isoformat(),
                "type_name": leave.kind,
                "status": "approved",
                "amount_days": (leave.ends_on - leave.starts_on).days + 1,
                "created": stamp,
                "last_changed": stamp,
            }
            for c, leave in plan.leave_requested_on.get(day, [])
        ],
    )
    for c in plan.leaving_on.get(day, []):
        conn.execute(
            "update bamboohr_employees set status = 'Inactive', termination_date = ?, "
            "last_changed = ? where id = ?",
            (day.isoformat(), stamp, c.id),
        )


# ---------------------------------------------------------------------------------- ERP


def _erp_records(conn, plan: FirmPlan, config: FirmConfig, day: date) -> None:
    """Customers when a client first wins, a job per won deal, jobs closed when work ends.

    Cross-references are typed in by hand, as in real firms: the customer's external id (the
    CRM company) is sometimes missing or wrong, and the CRM's note of the ERP customer is
    sometimes never filled in. Some clients get a second customer record (a defect).
    """
    stamp = iso(at(day, 15))
    for client in plan.customers_created_on.get(day, []):
        _create_customer(conn, plan, config, client, day)
        if not client.crm_erp_id_missing:
            conn.execute(
                "update hubspot_companies set netsuite_customer_id = ?, hs_lastmodifieddate = ? "
                "where id = ?",
                (
                    str(client.erp_customer_id),
                    crm_stamp(at(day, 15), client.company_id),
                    client.company_id,
                ),
            )
    for deal in plan.deals_closing_on.get(day, []):
        project = deal.project
        if project is None:
            continue
        if project.erp_customer_id != project.client.erp_customer_id:
            _create_duplicate_customer(conn, plan, config, project, stamp)
        if not project.set_up:
            _never_set_up(conn, project, deal.amount)
            continue
        insert(
            conn,
            "netsuite_job",
            [
                {
                    "id": project.erp_job_id,
                    "entityid": project.code,
                    "companyname": project.name,
                    "externalid": str(deal.id) if deal.id % 10 else None,  # some left blank
                    "parent": project.erp_customer_id,
                    "subsidiary": ENTITIES[project.client.entity][3],
                    "currency": project.client.currency,
                    "startdate": project.starts_on.isoformat(),
                    "projectedenddate": project.ends_on.isoformat(),
                    "entitystatus": "In Progress",
                    "datecreated": stamp,
                    "lastmodifieddate": stamp,
                }
            ],
        )
    for project in plan.projects_closed_on.get(day, []):
        conn.execute(
            "update netsuite_job set entitystatus = 'Closed', lastmodifieddate = ? where id = ?",
            (iso(at(day, 18)), project.erp_job_id),
        )


def _create_customer(conn, plan: FirmPlan, config: FirmConfig, client: Client, day: date) -> None:
    """The client's ERP customer, its CRM reference typed in by hand (sometimes wrongly)."""
    customer_id, name, stamp = client.erp_customer_id, client.name, iso(at(day, 15))
    external_id = None if client.erp_external_id_missing else client.company_id
    others = [
        c for c, created in plan.company_created.items() if c is not client and created <= day
    ]
    if client.erp_external_id_wrong and others:
        external_id = (
            random.Random(f"{config.seed}:wrong-reference:{client.id}").choice(others).company_id
        )
        record_truth(
            conn,
            "wrong_external_id",
            "netsuite",
            customer_id,
            None,
            None,
            f"ERP customer {customer_id} ({name}) names CRM company {external_id} as its "
            f"external id; it is company {client.company_id}",
            {
                "netsuite/customer": [customer_id],
                "hubspot/companies": [client.company_id, external_id],
            },
        )
    insert(
        conn,
        "netsuite_customer",
        [
            {
                "id": customer_id,
                "entityid": f"CUST{customer_id}",
                "companyname": name,
                "externalid": str(external_id) if external_id else None,
                "parent": client.parent.erp_customer_id if client.parent else None,
                "subsidiary": ENTITIES[client.entity][3],
                "currency": client.currency,
                "url": f"https://www.{client.domain}",
                "datecreated": stamp,
                "lastmodifieddate": stamp,
            }
        ],
    )


def _create_duplicate_customer(conn, plan, config, project: Project, stamp: str) -> None:
    client = project.client
    variant = client.variant("{name} Ltd" if not client.name.endswith("Ltd") else "{upper}")
    insert(
        conn,
        "netsuite_customer",
        [
            {
                "id": project.erp_customer_id,
                "entityid": f"CUST{project.erp_customer_id}",
                "companyname": variant,
                "externalid": None,
                "parent": client.parent.erp_customer_id if client.parent else None,
                "subsidiary": ENTITIES[client.entity][3],
                "currency": client.currency,
                "url": f"https://www.{client.domain}",
                "datecreated": stamp,
                "lastmodifieddate": stamp,
            }
        ],
    )
    record_truth(
        conn,
        "duplicate_customer",
        "netsuite",
        project.erp_customer_id,
        None,
        None,
        f"ERP customer {project.erp_customer_id} ({variant}) duplicates customer "
        f"{client.erp_customer_id} ({client.name}); {project.code} is billed to the copy",
        {"netsuite/customer": [client.erp_customer_id, project.erp_customer_id]},
    )


def _never_set_up(conn, project: Project, amount: Decimal) -> None:
    """The deal is won and the contract signed, but no one sets the project up: never done."""
    record_truth(
        conn,
        "won_deal_without_project",
        "hubspot",
        project.deal_id,
        amount,
        project.client.currency,
        f"won deal {project.deal_id} ({project.code}) was never set up in the PSA or the ERP, "
        "so it was never staffed, worked or invoiced",
        {
            "hubspot/deals": [project.deal_id],
            "hubspot/p_contracts": [project.contract.versions[0].id],
        },
    )


# ---------------------------------------------------------------------------------- PSA


def _psa_events(conn, plan: FirmPlan, day: date) -> None:
    """Users, workspaces with their stories, assignments and rate cards, milestones done,
    projects closed and, a month later, archived."""
    stamp = iso(at(day, 11))
    insert(
        conn,
        "kantata_users",
        [
            {
                "id": c.psa_user_id,
                "full_name": c.name,
                "email_address": c.email,
                "headline": c.role,
                "disabled": 0,
                "created_at": stamp,
                "updated_at": stamp,
            }
            for c in plan.hired_on.get(day, [])
        ],
    )
    for c in plan.leaving_on.get(day, []):
        conn.execute(
            "update kantata_users set disabled = 1, updated_at = ? where id = ?",
            (stamp, c.psa_user_id),
        )
    for p in plan.projects_opened_on.get(day, []):
        _open_workspace(conn, p, stamp)
    for p in plan.projects_opened_on.get(day, []):  # every rate change signed by now
        for version in p.contract.rate_changes:
            if version.signed_on <= day:
                _rate_card_set_version(conn, p, version, stamp)
    for p, version in plan.amendments_signed_on.get(day, []):  # and each one signed later
        if p.opened_on < day and version in p.contract.rate_changes:
            _rate_card_set_version(conn, p, version, stamp)
    for _, story in plan.milestones_due_on.get(day, []):
        conn.execute(
            "update kantata_stories set state = 'completed', updated_at = ? where id = ?",
            (iso(at(day, 17)), story.id),
        )
    for p in plan.projects_closed_on.get(day, []):
        conn.execute(
            "update kantata_workspaces set status = 'Completed', updated_at = ? where id = ?",
            (iso(at(day, 17)), p.workspace_id),
        )
        conn.execute(
            "update kantata_stories set state = 'completed', updated_at = ? "
            "where workspace_id = ? and story_type = 'task'",
            (iso(at(day, 17)), p.workspace_id),
        )
    for p in plan.projects_closed_on.get(day - timedelta(days=ARCHIVED_AFTER_DAYS), []):
        conn.execute(  # Kantata leaves archived projects out of lists unless asked for them
            "update kantata_workspaces set archived = 1, updated_at = ? where id = ?",
            (iso(at(day, 10)), p.workspace_id),
        )


def _open_workspace(conn, p: Project, stamp: str) -> None:
    """The workspace on its contract's rate card (a set of its own, one card in the client's
    currency), its stories, and its team assigned to every task."""
    insert(
        conn,
        "kantata_rate_card_sets",
        [{"id": _rate_card_set_id(p), "title": p.contract.number, "account_default": 0}],
    )
    insert(
        conn,
        "kantata_rate_cards",
        [
            {
                "id": _rate_card_id(p),
                "rate_card_set_id": _rate_card_set_id(p),
                "currency": p.client.currency,
            }
        ],
    )
    insert(
        conn,
        "kantata_workspaces",
        [
            {
                "id": p.workspace_id,
                "title": f"{p.code} {p.name}",
                "status": "Active",
                "archived": 0,
                "start_date": p.starts_on.isoformat(),
                "due_date": p.ends_on.isoformat(),
                "currency": p.client.currency,
                "rate_card_id": _rate_card_id(p),
                "created_at": stamp,
                "updated_at": stamp,
            }
        ],
    )
    insert(
        conn,
        "kantata_stories",
        [
            {
                "id": s.id,
                "workspace_id": p.workspace_id,
                "title": s.title,
                "story_type": s.kind,
                "state": "not started",
                "start_date": p.starts_on.isoformat(),
                "due_date": s.due_on.isoformat(),
                "budget_estimate_in_cents": int(s.amount * 100) if s.amount is not None else None,
                "created_at": stamp,
                "updated_at": stamp,
            }
            for s in p.stories
        ],
    )
    insert(
        conn,
        "kantata_assignments",
        [
            {
                "id": s.id * 10 + n,
                "story_id": s.id,
                "assignee_id": member.psa_user_id,
                "created_at": stamp,
                "updated_at": stamp,
            }
            for s in p.stories
            if s.kind == "task"
            for n, member in enumerate(p.team)
        ],
    )


def _rate_card_set_id(project: Project) -> int:
    return project.workspace_id * 10 + 1


def _rate_card_id(project: Project) -> int:
    return project.workspace_id * 10 + 2


def _rate_card_set_version(conn, project: Project, version: ContractVersion, stamp: str) -> None:
    """The contract version's rates as Kantata keeps them: a set version effective from the
    version's date, the card's version in it, and a rate card role (cents per hour) per role."""
    set_version_id, card_version_id = version.id * 10 + 7, version.id * 10 + 8
    dated = {"created_at": stamp, "updated_at": stamp}
    insert(
        conn,
        "kantata_rate_card_set_versions",
        [
            {
                "id": set_version_id,
                "rate_card_set_id": _rate_card_set_id(project),
                "effective_date": version.effective_on.isoformat(),
                "active": 1,
            }
            | dated
        ],
    )
    insert(
        conn,
        "kantata_rate_card_versions",
        [
            {
                "id": card_version_id,
                "rate_card_id": _rate_card_id(project),
                "rate_card_set_version_id": set_version_id,
                "default_rate": int(min(version.rates.values()) * 100),
            }
            | dated
        ],
    )
    insert(
        conn,
        "kantata_rate_card_roles",
        [
            {
                "id": version.id * 10 + n,
                "rate_card_version_id": card_version_id,
                "role_id": PSA_ROLE_IDS[role],
                "rate": int(version.rates[role] * 100),
            }
            | dated
            for n, role in enumerate(ROLES)
        ],
    )


# ---------------------------------------------------------------------------------- time tool


def _time_tool_records(conn, plan: FirmPlan, day: date) -> None:
    """Users on their first day, clients and projects two days before the work starts."""
    stamp = iso(at(day, 9))
    insert(
        conn,
        "harvest_users",
        [
            {
                "id": c.harvest_user_id,
                "first_name": c.first_name,
                "last_name": c.last_name,
                "email": c.email,
                "timezone": HARVEST_TIME_ZONES[c.entity],
                "roles": json.dumps([c.role]),
                "is_active": 1,
                "cost_rate": float(c.cost_rate_on(day)),
                "created_at": stamp,
                "updated_at": stamp,
            }
            for c in plan.hired_on.get(day, [])
        ],
    )
    for c in plan.leaving_on.get(day, []):
        conn.execute(
            "update harvest_users set is_active = 0, updated_at = ? where id = ?",
            (stamp, c.harvest_user_id),
        )
    for project in plan.projects_opened_on.get(day, []):
        _time_tool_project(conn, project, project.id, project.code, day)
    for c, change in plan.pay_changes_on.get(day, []):
        conn.execute(
            "update harvest_users set cost_rate = ?, updated_at = ? where id = ?",
            (float(change.rate), stamp, c.harvest_user_id),
        )
    for project, version in plan.amendments_signed_on.get(day, []):
        previous = project.contract.versions[version.number - 2]
        fixed = project.contract.billing_model in ("fixed_fee", "milestone")
        if fixed and version.total_value != previous.total_value:  # the fee the tool holds
            conn.execute(
                "update harvest_projects set fee = ?, updated_at = ? where id = ?",
                (float(version.total_value), stamp, project.id),
            )
    for project in plan.projects_closed_on.get(day, []):
        conn.execute(
            "update harvest_projects set is_active = 0, updated_at = ? where code in (?, ?)",
            (iso(at(day, 18)), project.code, project.unmapped_code),
        )


def _time_tool_project(conn, project: Project, project_id: int, code: str, day: date) -> None:
    """The time tool's project (and its client, the first time); nothing if it exists."""
    client, stamp = project.client, iso(at(day, 9))
    conn.execute(
        "insert or ignore into harvest_clients values (?, ?, ?, 1, ?, ?)",
        (client.id, client.harvest_name, client.currency, stamp, stamp),
    )
    model = project.contract.billing_model
    conn.execute(
        "insert or ignore into harvest_projects values (?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?)",
        (
            project_id,
            client.id,
            project.name,
            code,
            int(day < project.ends_on),  # a stray code first used on the last day starts closed
            int(model in ("fixed_fee", "milestone")),
            "People" if model == "time_and_materials" else "none",
            float(project.contract.versions[0].total_value)
            if model != "time_and_materials"
            else None,
            project.starts_on.isoformat(),
            project.ends_on.isoformat(),
            stamp,
            stamp,
        ),
    )


def _working(plan: FirmPlan, day: date) -> list[tuple[Consultant, list[Project]]]:
    """Each consultant at work that day, with the projects they are on (time and expenses)."""
    working = []
    for consultant in plan.consultants:
        if consultant.employed(day) and not consultant.on_leave(day):
            projects = [p for p in consultant.projects if p.active(day)]
            if projects:
                working.append((consultant, projects))
    return working


def _log_time(
    conn, rng: random.Random, plan: FirmPlan, config: FirmConfig, day: date, working
) -> None:
    """Each consultant at work splits the day into one to three entries across their projects.

    The entry carries the rate the time tool holds for the consultant's role on the project,
    which lags a rate amendment when the superseded-rate defect was drawn for it.
    """
    next_id = conn.execute(
        "select coalesce(max(id), 700000000) + 1 from harvest_time_entries"
    ).fetchone()[0]
    rows = []
    stamp = iso(at(day, 18))
    for consultant, projects in working:
        if rng.random() < 0.03:
            continue
        for hours in _split_day(rng, rng.choice(DAY_HOURS), rng.choice(ENTRIES_PER_DAY)):
            project = rng.choice(projects)
            task_id, task_name = rng.choice(TASKS)
            billable = rng.random() < 0.9
            entry_id = next_id + len(rows)
            code, time_tool_project_id = project.code, project.id
            rate = project.contract.time_tool_rate_on(consultant.role, day)
            # only time that would have been billed by the hour, at the right rate, is lost
            if (
                billable
                and project.contract.billing_model == "time_and_materials"
                and rate == project.contract.rate_on(consultant.role, day)
                and rng.random() < config.defects.unmapped_project_code
            ):
                code, time_tool_project_id = project.unmapped_code, project.id + 500_000
                _time_tool_project(conn, project, time_tool_project_id, code, day)
                record_truth(
                    conn,
                    "unmapped_project_code",
                    "harvest",
                    entry_id,
                    to_cents(Decimal(str(hours)) * rate),
                    project.client.currency,
                    f"billable time booked to {code}, a code only Harvest knows (meant {project.code})",
                    {"harvest/time_entries": [entry_id]},
                )
            rows.append(
                {
                    "id": entry_id,
                    "spent_date": day.isoformat(),
                    "hours": hours,
                    "notes": f"{project.name}: {task_name}",
                    "is_locked": 0,
                    "is_closed": 0,
                    "is_billed": 0,
                    "billable": int(billable),
                    "billable_rate": float(rate) if billable else None,
                    "cost_rate": float(consultant.cost_rate_on(day)),
                    "user_id": consultant.harvest_user_id,
                    "user_name": consultant.name,
                    "client_id": project.client.id,
                    "client_name": project.client.harvest_name,
                    "client_currency": project.client.currency,
                    "project_id": time_tool_project_id,
                    "project_name": project.name,
                    "project_code": code,
                    "task_id": task_id,
                    "task_name": task_name,
                    "created_at": stamp,
                    "updated_at": stamp,
                }
            )
    insert(conn, "harvest_time_entries", rows)


def _split_day(rng: random.Random, total: float, parts: int) -> list[float]:
    """`total` hours in `parts` entries of whole half hours, each at least one hour."""
    halves = int(total * 2)
    cuts = sorted(rng.sample(range(2, halves - 1, 2), k=parts - 1)) if parts > 1 else []
    bounds = [0, *cuts, halves]
    return [(b - a) / 2 for a, b in zip(bounds, bounds[1:], strict=False)]


def _log_expenses(conn, rng: random.Random, day: date, working) -> None:
    """Now and then a consultant at work spends money on a project; most of it is re-billed."""
    next_id = conn.execute(
        "select coalesce(max(id), 800000000) + 1 from harvest_expenses"
    ).fetchone()[0]
    rows = []
    stamp = iso(at(day, 19))
    for consultant, projects in working:
        if rng.random() >= 0.04:
            continue
        project = rng.choice(projects)
        category_id, category, (low, high) = rng.choice(EXPENSE_CATEGORIES)
        rows.append(
            {
                "id": next_id + len(rows),
                "spent_date": day.isoformat(),
                "notes": f"{category} for {project.name}",
                "total_cost": float(to_cents(Decimal(str(rng.uniform(low, high))))),
                "is_locked": 0,
                "is_closed": 0,
                "is_billed": 0,
                "billable": int(rng.random() < 0.85),
                "expense_category_id": category_id,
                "expense_category_name": category,
                "user_id": consultant.harvest_user_id,
                "user_name": consultant.name,
                "client_id": project.client.id,
                "client_name": project.client.harvest_name,
                "client_currency": project.client.currency,
                "project_id": project.id,
                "project_name": project.name,
                "project_code": project.code,
                "created_at": stamp,
                "updated_at": stamp,
            }
        )
    insert(conn, "harvest_expenses", rows)


def _approve_timesheets(conn, monday: date) -> None:
    """Timesheets (time and expenses) are approved on the Monday a week after their week."""
    first, last = monday - timedelta(days=14), monday - timedelta(days=8)
    for table in ("harvest_time_entries", "harvest_expenses"):
        conn.execute(
            f"update {table} set is_closed = 1, is_locked = 1, updated_at = ? "
            "where spent_date between ? and ? and is_closed = 0",
            (iso(at(monday, 9)), first.isoformat(), last.isoformat()),
        )
