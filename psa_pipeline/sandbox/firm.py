"""Seeded generator of the sandbox services firm.

Same seed and size give byte-identical API responses: every random draw comes from one
`random.Random(seed)` consumed in a fixed order, and every timestamp is derived from the
simulated calendar, never from the wall clock.

The firm: clients buy projects through CRM deals; consultants log daily time in Harvest;
the ERP invoices each project monthly, on the 15th, for the approved billable time of the
month before. Defects are then injected on purpose and written to `sandbox_truth`.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from psa_pipeline.money import money_text, to_cents
from psa_pipeline.sandbox.store import SandboxStore

AS_OF = date(2026, 6, 30)  # the sandbox's "today": the last day of its simulated calendar
INVOICE_DAY = 15  # invoices for month M are raised on the 15th of M+1

ROLES = {  # role: (cost rate per hour, weight in the consultant mix)
    "Analyst": (55, 4),
    "Consultant": (75, 5),
    "Senior Consultant": (95, 4),
    "Manager": (120, 2),
    "Partner": (170, 1),
}
FIRST_NAMES = [
    "Ada",
    "Ben",
    "Chloe",
    "Dev",
    "Elena",
    "Farid",
    "Grace",
    "Hugo",
    "Ines",
    "Jonas",
    "Kira",
    "Liam",
    "Maya",
    "Noah",
    "Olga",
    "Priya",
    "Quinn",
    "Rosa",
    "Sami",
    "Tara",
]
LAST_NAMES = [
    "Adler",
    "Brandt",
    "Costa",
    "Dubois",
    "Evans",
    "Fischer",
    "Garcia",
    "Hall",
    "Ito",
    "Jensen",
    "Kowalski",
    "Lopez",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Patel",
]
CLIENT_WORDS = [
    "Acme",
    "Borealis",
    "Cobalt",
    "Delta",
    "Evergreen",
    "Fjord",
    "Granite",
    "Helix",
    "Iris",
    "Juniper",
    "Keystone",
    "Lumen",
    "Meridian",
    "Nimbus",
    "Orion",
    "Pinnacle",
]
CLIENT_SUFFIXES = ["Holdings", "Logistics", "Health", "Energy", "Retail", "Labs", "Bank", "Foods"]
CURRENCIES = ["USD", "USD", "EUR", "GBP"]
HOURS = [4, 5, 6, 6.5, 7, 7.5, 8, 8]


@dataclass(frozen=True)
class FirmSize:
    consultants: int
    clients: int
    months: int


SIZES = {
    "small": FirmSize(consultants=20, clients=8, months=6),
    "medium": FirmSize(consultants=200, clients=40, months=24),
    "large": FirmSize(consultants=2000, clients=300, months=36),
}


@dataclass(frozen=True)
class DefectRates:
    """How often each kind of defect is injected."""

    unbilled_time: float = 0.03  # approved billable entry left off its project's monthly invoice
    impossible_hours: int = 0  # entries re-recorded with more than 24 hours in a day


@dataclass(frozen=True)
class FirmConfig:
    seed: int = 7
    size: str = "small"
    defects: DefectRates = field(default_factory=DefectRates)

    def __post_init__(self):
        if self.size not in SIZES:
            raise ValueError(f"unknown firm size {self.size!r}; choose one of {sorted(SIZES)}")

    @property
    def key(self) -> str:
        """Names the store file: one firm per distinct configuration."""
        d = self.defects
        return f"{self.size}-s{self.seed}-u{d.unbilled_time}-h{d.impossible_hours}"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def approval_date(spent: date) -> date:
    """Timesheets are approved on the Monday a week after the week they belong to."""
    return spent + timedelta(days=7 - spent.weekday() + 7)


def working_days(first: date, last: date):
    day = first
    while day <= last:
        if day.weekday() < 5:
            yield day
        day += timedelta(days=1)


def generate(config: FirmConfig, store: SandboxStore) -> None:
    """Write the whole firm into an empty store."""
    rng = random.Random(config.seed)
    size = SIZES[config.size]
    start = month_start(AS_OF)
    for _ in range(size.months - 1):
        start = month_start(start - timedelta(days=1))

    consultants = _consultants(rng, size.consultants)
    clients = _clients(rng, size.clients)
    deals, projects = _deals_and_projects(rng, clients, start)
    for consultant in consultants:
        consultant["projects"] = rng.sample(projects, k=min(len(projects), rng.randint(1, 3)))
    entries = _time_entries(rng, consultants, start)
    invoices, lines, truth = _invoices(rng, entries, projects, config.defects)
    truth += _impossible_hours(config, entries)

    store.create()
    with store.transaction() as conn:
        conn.executemany(
            "insert into firm_meta values (?, ?)",
            [
                ("seed", str(config.seed)),
                ("size", config.size),
                ("as_of", AS_OF.isoformat()),
                ("key", config.key),
            ],
        )
        _insert(conn, "hubspot_deals", deals)
        _insert(conn, "harvest_time_entries", entries)
        _insert(conn, "netsuite_transaction", invoices)
        _insert(conn, "netsuite_transactionline", lines)
        _insert(conn, "sandbox_truth", truth)


def _insert(conn, table: str, rows: list[dict]) -> None:
    if not rows:
        return
    columns = list(rows[0])
    quoted = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" for _ in columns)
    conn.executemany(
        f"insert into {table} ({quoted}) values ({marks})",
        [tuple(row[c] for c in columns) for row in rows],
    )


def _consultants(rng: random.Random, count: int) -> list[dict]:
    roles = [role for role, (_, weight) in ROLES.items() for _ in range(weight)]
    consultants = []
    for n in range(1, count + 1):
        role = rng.choice(roles)
        consultants.append(
            {
                "id": 2000 + n,
                "name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                "role": role,
                "cost_rate": ROLES[role][0],
            }
        )
    return consultants


def _clients(rng: random.Random, count: int) -> list[dict]:
    clients = []
    for n in range(1, count + 1):
        clients.append(
            {
                "id": 300 + n,
                "erp_customer_id": 5000 + n,
                "name": f"{rng.choice(CLIENT_WORDS)} {rng.choice(CLIENT_SUFFIXES)} {n}",
                "currency": rng.choice(CURRENCIES),
            }
        )
    return clients


def _deals_and_projects(rng: random.Random, clients: list[dict], start: date):
    deals, projects = [], []
    deal_id = 9_000_000
    for client in clients:
        for _ in range(rng.randint(1, 3)):
            deal_id += rng.randint(1, 40)
            won = rng.random() < 0.7
            rate = rng.randrange(120, 225, 5)
            budget_hours = rng.randrange(200, 1600, 50)
            closed = start - timedelta(days=rng.randint(5, 60))
            code = f"PRJ-{1000 + len(projects) + 1}" if won else None
            stamp = iso(at(closed, 16))
            deals.append(
                {
                    "id": deal_id,
                    "dealname": f"{client['name']} - {rng.choice(['Advisory', 'Implementation', 'Audit', 'Strategy'])}",
                    "amount": money_text(Decimal(rate * budget_hours)),
                    "deal_currency_code": client["currency"],
                    "dealstage": "closedwon" if won else rng.choice(["closedlost", "contractsent"]),
                    "pipeline": "default",
                    "closedate": stamp,
                    "psa_project_code": code,
                    "createdate": iso(at(closed - timedelta(days=30), 10)),
                    "hs_lastmodifieddate": stamp,
                }
            )
            if won:
                projects.append(
                    {
                        "id": 40_000 + len(projects) + 1,
                        "code": code,
                        "name": deals[-1]["dealname"],
                        "client": client,
                        "rate": rate,
                    }
                )
    return deals, projects


def _time_entries(rng: random.Random, consultants: list[dict], start: date) -> list[dict]:
    entries = []
    entry_id = 700_000_000
    for day in working_days(start, AS_OF):
        for consultant in consultants:
            if rng.random() < 0.08:  # time off, sick, bench
                continue
            project = rng.choice(consultant["projects"])
            hours = rng.choice(HOURS)
            billable = rng.random() < 0.9
            approved_on = approval_date(day)
            approved = approved_on <= AS_OF
            entry_id += 1
            client = project["client"]
            entries.append(
                {
                    "id": entry_id,
                    "spent_date": day.isoformat(),
                    "hours": hours,
                    "notes": f"{project['name']} work",
                    "is_locked": int(approved),
                    "is_closed": int(approved),
                    "is_billed": 0,
                    "billable": int(billable),
                    "billable_rate": float(project["rate"]) if billable else None,
                    "cost_rate": float(consultant["cost_rate"]),
                    "user_id": consultant["id"],
                    "user_name": consultant["name"],
                    "client_id": client["id"],
                    "client_name": client["name"],
                    "client_currency": client["currency"],
                    "project_id": project["id"],
                    "project_name": project["name"],
                    "project_code": project["code"],
                    "task_id": 90,
                    "task_name": "Delivery",
                    "created_at": iso(at(day, 18)),
                    "updated_at": iso(at(approved_on, 9) if approved else at(day, 18)),
                }
            )
    return entries


def _invoices(rng, entries: list[dict], projects: list[dict], rates: DefectRates):
    """Monthly T&M invoices per project; some approved time is left off on purpose."""
    to_bill: dict[tuple[str, date], list[dict]] = defaultdict(list)
    for entry in entries:
        spent = date.fromisoformat(entry["spent_date"])
        invoice_on = next_month(spent).replace(day=INVOICE_DAY)
        if entry["billable"] and entry["is_closed"] and invoice_on <= AS_OF:
            to_bill[(entry["project_code"], month_start(spent))].append(entry)

    by_code = {p["code"]: p for p in projects}
    invoices, lines, truth = [], [], []
    line_key = 1
    for number, ((code, month), billable) in enumerate(sorted(to_bill.items()), start=1):
        skipped = [e for e in billable if rng.random() < rates.unbilled_time]
        if len(skipped) == len(billable):  # a month is never wholly forgotten: keep the first
            skipped = skipped[1:]
        for entry in skipped:
            amount = Decimal(str(entry["hours"])) * Decimal(str(entry["billable_rate"]))
            truth.append(
                {
                    "kind": "unbilled_time",
                    "system": "harvest",
                    "record_id": str(entry["id"]),
                    "amount": money_text(amount),
                    "currency": entry["client_currency"],
                    "detail": f"approved billable time on {code} left off the {month:%Y-%m} invoice",
                }
            )
        skipped_ids = {e["id"] for e in skipped}
        invoice_on = next_month(month).replace(day=INVOICE_DAY)
        client = by_code[code]["client"]
        invoice_id = 10_000 + number
        stamp = iso(at(invoice_on, 12))
        total = Decimal(0)
        billed = [e for e in billable if e["id"] not in skipped_ids]
        for seq, entry in enumerate(billed, start=1):
            amount = to_cents(Decimal(str(entry["hours"])) * Decimal(str(entry["billable_rate"])))
            total += amount
            lines.append(
                {
                    "uniquekey": line_key,
                    "transaction": invoice_id,
                    "linesequencenumber": seq,
                    "item": "Professional Services",
                    "memo": f"{entry['user_name']} {entry['spent_date']}",
                    "quantity": str(entry["hours"]),
                    "rate": money_text(Decimal(str(entry["billable_rate"]))),
                    "foreignamount": money_text(amount),
                    "custcol_time_entry_id": entry["id"],
                    "linelastmodifieddate": stamp,
                }
            )
            line_key += 1
        invoices.append(
            {
                "id": invoice_id,
                "tranid": f"INV{number:05d}",
                "type": "CustInvc",
                "externalid": None,
                "entity": client["erp_customer_id"],
                "trandate": invoice_on.isoformat(),
                "currency": client["currency"],
                "status": "open",
                "memo": f"{code} time and materials {month:%Y-%m}",
                "custbody_project_code": code,
                "foreigntotal": money_text(total),
                "createddate": stamp,
                "lastmodifieddate": stamp,
            }
        )
    return invoices, lines, truth


def _impossible_hours(config: FirmConfig, entries: list[dict]) -> list[dict]:
    """Re-record a few entries with impossible hours, after everything else is drawn.

    A separate random stream keeps every other record identical to the clean firm of the same
    seed, so a test can load the clean firm and then the corrupted one into one warehouse.
    """
    count = config.defects.impossible_hours
    picked = random.Random(f"{config.seed}-impossible-hours").sample(entries, k=count)
    truth = []
    for entry in picked:
        entry["hours"] = 30.0
        entry["updated_at"] = iso(at(AS_OF, 23, 59))
        truth.append(
            {
                "kind": "malformed_record",
                "system": "harvest",
                "record_id": str(entry["id"]),
                "amount": None,
                "currency": None,
                "detail": "hours greater than 24 in one day",
            }
        )
    return truth
