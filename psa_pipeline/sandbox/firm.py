"""The sandbox services firm: a seeded plan, then a day-by-day simulation.

Two parts, so that time can move:

- The **plan** is drawn once from the seed: the staff with their hire and leave dates, the
  clients, the deal pipeline and, for each won deal, the project, its rate and its team. It
  covers the firm's history and a horizon of future years, and never depends on how far the
  simulation has gone.
- The **simulation** plays the firm one day at a time: deals open and close, consultants log
  time, timesheets are approved, invoices go out on the 15th. Each day draws from its own
  random stream (seed + date) and writes to the store, so simulating days 1-10 then 11-20
  gives exactly what simulating days 1-20 does, and `advance` is deterministic. Only one day's
  activity is ever held in memory, which keeps a large firm out of the server's RSS.

Every timestamp comes from the simulated calendar, never the wall clock. Defects are injected
on purpose and recorded in `sandbox_truth`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from psa_pipeline.money import money_text, to_cents
from psa_pipeline.sandbox.store import CLIENT_LINE_KEYS, CLIENT_TRANSACTION_IDS, SandboxStore

INITIAL_AS_OF = date(2026, 6, 30)  # the firm's "today" when it is generated
HORIZON_YEARS = 3  # how far past INITIAL_AS_OF the plan reaches (time travel's limit)
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
PRACTICES = ["Strategy", "Technology", "Finance", "Operations"]
ENTITIES = {"US": ("USD", "New York"), "UK": ("GBP", "London"), "DE": ("EUR", "Berlin")}
ENTITY_WEIGHTS = ["US", "US", "US", "UK", "UK", "DE"]
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
DEAL_KINDS = ["Advisory", "Implementation", "Audit", "Strategy"]
CURRENCIES = ["USD", "USD", "EUR", "GBP"]
DAY_HOURS = [6, 7, 7.5, 8, 8, 8.5, 9]
ENTRIES_PER_DAY = [1, 2, 2, 3]
TASKS = [(90, "Delivery"), (91, "Design"), (92, "Project management"), (93, "Workshops")]


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
    time_billed_twice: float = 0.004  # a billed entry billed again on the next month's invoice
    unmapped_project_code: float = 0.004  # billable time booked to a code no other system knows
    won_deal_without_workspace: float = 0.05  # a won deal's project never set up in the PSA
    impossible_hours: int = 0  # entries re-recorded with more than 24 hours in a day


@dataclass(frozen=True)
class FirmConfig:
    seed: int = 7
    size: str = "small"
    defects: DefectRates = field(default_factory=DefectRates)

    def __post_init__(self):
        if self.size not in SIZES:
            raise ValueError(f"unknown firm size {self.size!r}; choose one of {sorted(SIZES)}")

    @classmethod
    def of_store(cls, store: SandboxStore) -> FirmConfig:
        """The configuration a store was generated with (it is kept in firm_meta)."""
        return cls(
            seed=int(store.meta("seed")),
            size=store.meta("size"),
            defects=DefectRates(**json.loads(store.meta("defects"))),
        )

    @property
    def defects_json(self) -> str:
        return json.dumps(asdict(self.defects), sort_keys=True)

    @property
    def key(self) -> str:
        """Names the store file: one firm per distinct configuration."""
        key = f"{self.size}-s{self.seed}"
        if self.defects != DefectRates():
            key += "-d" + hashlib.sha256(self.defects_json.encode()).hexdigest()[:8]
        return key


# ---------------------------------------------------------------------------------- calendar


def iso(moment: datetime) -> str:
    """UTC, to the second, as every system of the firm stamps it; a naive moment is UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def months_before(day: date, months: int) -> date:
    first = month_start(day)
    for _ in range(months):
        first = month_start(first - timedelta(days=1))
    return first


def first_day(size: FirmSize) -> date:
    return months_before(INITIAL_AS_OF, size.months - 1)


# ---------------------------------------------------------------------------------- the plan


@dataclass
class Consultant:
    id: int
    first_name: str
    last_name: str
    role: str
    practice: str
    entity: str  # the legal entity employing them: US, UK or DE
    hired_on: date
    left_on: date | None
    pay: list[PayChange] = field(default_factory=list)  # cost rate history, oldest first
    leave: list[Leave] = field(default_factory=list)
    projects: list[Project] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def currency(self) -> str:
        return ENTITIES[self.entity][0]

    def employed(self, day: date) -> bool:
        return self.hired_on <= day and (self.left_on is None or day < self.left_on)

    def on_leave(self, day: date) -> bool:
        return day in self._leave_days

    @functools.cached_property
    def _leave_days(self) -> frozenset[date]:
        return frozenset(
            leave.starts_on + timedelta(days=n)
            for leave in self.leave
            for n in range((leave.ends_on - leave.starts_on).days + 1)
        )

    def cost_rate_on(self, day: date) -> Decimal:
        return next(change.rate for change in reversed(self.pay) if change.starts_on <= day)


@dataclass(frozen=True)
class PayChange:
    id: int
    starts_on: date
    rate: Decimal  # hourly cost in the employing entity's currency
    reason: str


@dataclass(frozen=True)
class Leave:
    id: int
    requested_on: date
    starts_on: date
    ends_on: date
    kind: str


@dataclass(frozen=True)
class Client:
    id: int
    erp_customer_id: int
    name: str
    currency: str


@dataclass(frozen=True)
class Story:
    """A task or a milestone of a project, as the PSA holds it."""

    id: int
    title: str
    kind: str  # task or milestone
    due_on: date
    amount: Decimal | None  # what completing a milestone is worth to the client


@dataclass(eq=False)
class Project:
    id: int
    code: str
    name: str
    client: Client
    rate: int
    starts_on: date
    ends_on: date
    deal_id: int = 0
    has_workspace: bool = True  # False: the PSA never set it up (a defect)
    team: list[Consultant] = field(default_factory=list)
    stories: list[Story] = field(default_factory=list)

    @property
    def unmapped_code(self) -> str:
        """A code only Harvest knows, that some time is booked to by mistake (a defect)."""
        return self.code.replace("PRJ-", "PRJ-X")

    @property
    def workspace_id(self) -> int:
        """The PSA's own id for the project (each system numbers its records its own way)."""
        return self.id + 20_000

    @property
    def opened_on(self) -> date:
        """The PSA workspace is set up two days before the work starts."""
        return self.starts_on - timedelta(days=2)

    def active(self, day: date) -> bool:
        return self.starts_on <= day <= self.ends_on


@dataclass(frozen=True)
class Deal:
    id: int
    name: str
    client: Client
    amount: Decimal
    created_on: date
    closes_on: date
    stage_at_close: str  # closedwon, closedlost, or contractsent (still open)
    project: Project | None


@dataclass
class FirmPlan:
    consultants: list[Consultant]
    clients: list[Client]
    deals: list[Deal]
    created_on: dict[date, list[Deal]] = field(default_factory=dict)
    closing_on: dict[date, list[Deal]] = field(default_factory=dict)
    hired_on: dict[date, list[Consultant]] = field(default_factory=dict)
    leaving_on: dict[date, list[Consultant]] = field(default_factory=dict)
    pay_changes_on: dict[date, list[tuple[Consultant, PayChange]]] = field(default_factory=dict)
    leave_requested_on: dict[date, list[tuple[Consultant, Leave]]] = field(default_factory=dict)
    workspaces_opened_on: dict[date, list[Project]] = field(default_factory=dict)
    workspaces_closed_on: dict[date, list[Project]] = field(default_factory=dict)
    milestones_due_on: dict[date, list[tuple[Project, Story]]] = field(default_factory=dict)

    def __post_init__(self):
        for deal in self.deals:
            self.created_on.setdefault(deal.created_on, []).append(deal)
            self.closing_on.setdefault(deal.closes_on, []).append(deal)
        for c in self.consultants:
            self.hired_on.setdefault(c.hired_on, []).append(c)
            if c.left_on:
                self.leaving_on.setdefault(c.left_on, []).append(c)
            for change in c.pay:
                self.pay_changes_on.setdefault(change.starts_on, []).append((c, change))
            for leave in c.leave:
                self.leave_requested_on.setdefault(leave.requested_on, []).append((c, leave))
        for deal in self.deals:
            if project := deal.project:
                self.workspaces_opened_on.setdefault(project.opened_on, []).append(project)
                self.workspaces_closed_on.setdefault(project.ends_on, []).append(project)
                for story in project.stories:
                    if story.kind == "milestone":
                        self.milestones_due_on.setdefault(story.due_on, []).append((project, story))

    @property
    def earliest(self) -> date:
        return min(min(self.created_on), min(self.hired_on))

    @functools.cached_property
    def deals_by_id(self) -> dict[int, Deal]:
        return {deal.id: deal for deal in self.deals}

    @functools.cached_property
    def project_codes(self) -> frozenset[str]:
        """The codes the CRM, PSA and ERP know; Harvest may hold others (defects)."""
        return frozenset(d.project.code for d in self.deals if d.project)

    @property
    def erp_customer_ids(self) -> dict[int, int]:
        return {client.id: client.erp_customer_id for client in self.clients}


def plan_firm(config: FirmConfig) -> FirmPlan:
    """Everything structural, drawn from the seed alone."""
    rng = random.Random(f"{config.seed}:plan")
    size = SIZES[config.size]
    start = first_day(size)
    end = INITIAL_AS_OF.replace(year=INITIAL_AS_OF.year + HORIZON_YEARS)
    consultants = _staff(rng, size.consultants, start, end)
    clients = _clients(rng, size.clients)
    deals = _pipeline(rng, clients, consultants, size, start, end, config.defects)
    return FirmPlan(consultants=consultants, clients=clients, deals=deals)


def _staff(rng: random.Random, headcount: int, start: date, end: date) -> list[Consultant]:
    """The founding staff, then a replacement hire a month after each leaver."""
    roles = [role for role, (_, weight) in ROLES.items() for _ in range(weight)]
    staff: list[Consultant] = []

    def hire(hired_on: date) -> None:
        role = rng.choice(roles)
        tenure_days = rng.randint(365, 365 * 8)
        left_on = hired_on + timedelta(days=tenure_days)
        staff.append(
            Consultant(
                id=2000 + len(staff) + 1,
                first_name=rng.choice(FIRST_NAMES),
                last_name=rng.choice(LAST_NAMES),
                role=role,
                practice=rng.choice(PRACTICES),
                entity=rng.choice(ENTITY_WEIGHTS),
                hired_on=hired_on,
                left_on=left_on if left_on <= end else None,
            )
        )

    for _ in range(headcount):
        hire(start - timedelta(days=rng.randint(30, 365 * 5)))
    for consultant in staff:
        if consultant.left_on is not None and consultant.left_on <= start:
            consultant.left_on = None  # the founding staff are all there on the first day
    waiting = sorted((c.left_on for c in staff if c.left_on), reverse=True)
    while waiting:
        hired_on = waiting.pop() + timedelta(days=30)
        if hired_on <= end:
            hire(hired_on)
            if staff[-1].left_on:
                waiting.append(staff[-1].left_on)
                waiting.sort(reverse=True)
    pay_ids, leave_ids = iter(range(1, 10**9)), iter(range(1, 10**9))
    for consultant in staff:
        consultant.pay = _pay_history(rng, consultant, end, pay_ids)
        consultant.leave = _holidays(rng, consultant, end, leave_ids)
    return staff


def _pay_history(rng, consultant: Consultant, end: date, ids) -> list[PayChange]:
    """The role's rate (+/-10%) at hire, then a raise of 2-6% on every anniversary."""
    base = Decimal(ROLES[consultant.role][0]) * Decimal(str(rng.uniform(0.9, 1.1)))
    history = [PayChange(next(ids), consultant.hired_on, to_cents(base), "New hire")]
    last = consultant.left_on or end
    year = 1
    while (anniversary := consultant.hired_on + timedelta(days=365 * year)) < last:
        raised = history[-1].rate * Decimal(str(1 + rng.uniform(0.02, 0.06)))
        history.append(PayChange(next(ids), anniversary, to_cents(raised), "Annual review"))
        year += 1
    return history


def _holidays(rng, consultant: Consultant, end: date, ids) -> list[Leave]:
    """Two holidays a year of three to ten days, requested two to eight weeks ahead."""
    holidays = []
    last = consultant.left_on or end
    for year in range(consultant.hired_on.year, last.year + 1):
        for _ in range(2):
            starts_on = date(year, 1, 1) + timedelta(days=rng.randint(0, 350))
            ends_on = starts_on + timedelta(days=rng.randint(2, 9))
            if consultant.hired_on <= starts_on and ends_on < last:
                ahead = timedelta(days=rng.randint(14, 56))
                requested_on = max(starts_on - ahead, consultant.hired_on)
                holidays.append(Leave(next(ids), requested_on, starts_on, ends_on, "Vacation"))
    return sorted(holidays, key=lambda leave: leave.starts_on)


def _staff_project(rng, consultants: list[Consultant], starts_on: date, team_size: int):
    """The least busy of a few consultants drawn at random ("power of d choices").

    As even as ranking the whole staff, at the cost of a handful: a large firm staffs
    thousands of projects.
    """
    drawn = rng.sample(consultants, k=min(len(consultants), 6 * team_size))
    available = [c for c in drawn if c.employed(starts_on)]
    available.sort(key=lambda c: (sum(p.active(starts_on) for p in c.projects), rng.random()))
    return available[:team_size]


def _stories(rng, project: Project, value: Decimal) -> list[Story]:
    """Two to four tasks running to the end, and one to three milestones spread across it."""
    first_id = project.id * 10
    kinds = rng.sample(["Discovery", "Design", "Build", "Test", "Rollout"], k=rng.randint(2, 4))
    stories = [
        Story(first_id + n, f"{kind} work", "task", project.ends_on, None)
        for n, kind in enumerate(kinds)
    ]
    milestones = rng.randint(1, 3)
    span = (project.ends_on - project.starts_on).days
    for n in range(1, milestones + 1):
        stories.append(
            Story(
                first_id + 5 + n,
                f"Milestone {n}",
                "milestone",
                project.starts_on + timedelta(days=span * n // milestones),
                to_cents(value * Decimal("0.3") / milestones),
            )
        )
    return stories


def _clients(rng: random.Random, count: int) -> list[Client]:
    return [
        Client(
            id=300 + n,
            erp_customer_id=5000 + n,
            name=f"{rng.choice(CLIENT_WORDS)} {rng.choice(CLIENT_SUFFIXES)} {n}",
            currency=rng.choice(CURRENCIES),
        )
        for n in range(1, count + 1)
    ]


def _pipeline(
    rng, clients, consultants, size: FirmSize, start: date, end: date, defects: DefectRates
) -> list[Deal]:
    """Deals arriving through the whole horizon, enough to keep the staff busy.

    About one project per two consultants is running at any time (teams of two to six, so
    most consultants are on one to three projects); projects last three to nine months, so a
    deal is won every few weeks in a small firm and several a day in a large one.
    """
    deals: list[Deal] = []
    projects = 0
    running_target = max(6, size.consultants // 2)
    mean_gap_days = 6 * 30 * 0.7 / running_target  # 6-month projects, 70% of deals won
    first = start - timedelta(days=330)  # projects already running on the first day
    offset = 0.0  # in days, fractional: a large firm opens several deals a day
    deal_id = 9_000_000
    while (day := first + timedelta(days=int(offset))) <= end:
        offset += rng.expovariate(1 / mean_gap_days)
        deal_id += rng.randint(1, 40)
        client = rng.choice(clients)
        closes_on = day + timedelta(days=rng.randint(10, 60))
        outcome = "closedwon" if rng.random() < 0.7 else rng.choice(["closedlost", "contractsent"])
        rate = rng.randrange(120, 225, 5)
        months = rng.randint(3, 9)
        name = f"{client.name} - {rng.choice(DEAL_KINDS)}"
        project = None
        if outcome == "closedwon":
            projects += 1
            starts_on = closes_on + timedelta(days=rng.randint(3, 14))
            project = Project(
                id=40_000 + projects,
                code=f"PRJ-{1000 + projects}",
                name=name,
                client=client,
                rate=rate,
                starts_on=starts_on,
                ends_on=starts_on + timedelta(days=30 * months),
                deal_id=deal_id,
                has_workspace=rng.random() >= defects.won_deal_without_workspace,
            )
            project.team = _staff_project(rng, consultants, starts_on, rng.randint(2, 6))
            for member in project.team:
                member.projects.append(project)
            project.stories = _stories(rng, project, Decimal(rate * rng.randrange(200, 1600, 50)))
        budget_hours = rng.randrange(200, 1600, 50)
        deals.append(
            Deal(
                id=deal_id,
                name=name,
                client=client,
                amount=Decimal(rate * budget_hours),
                created_on=day,
                closes_on=closes_on,
                stage_at_close=outcome,
                project=project,
            )
        )
    return deals


# ---------------------------------------------------------------------------------- simulation


def generate(config: FirmConfig, store: SandboxStore) -> None:
    """Create the store and simulate the firm from its first day to INITIAL_AS_OF."""
    store.create()
    plan = plan_firm(config)
    start = first_day(SIZES[config.size])
    with store.transaction() as conn:
        conn.executemany(
            "insert into firm_meta values (?, ?)",
            [
                ("seed", str(config.seed)),
                ("size", config.size),
                ("key", config.key),
                ("defects", config.defects_json),
                ("as_of", (start - timedelta(days=1)).isoformat()),
            ],
        )
        # CRM and HR already have a history when the firm's first simulated day begins
        day = plan.earliest
        while day < start:
            _deal_events(conn, plan, day)
            _hr_events(conn, plan, day)
            _psa_events(conn, plan, day)
            day += timedelta(days=1)
    simulate_until(store, plan, config, INITIAL_AS_OF)
    if config.defects.impossible_hours:
        with store.transaction() as conn:
            _impossible_hours(conn, config)


def simulate_until(store: SandboxStore, plan: FirmPlan, config: FirmConfig, last: date) -> None:
    """Play every day after the store's as_of, up to and including `last`."""
    day = date.fromisoformat(store.meta("as_of")) + timedelta(days=1)
    horizon = INITIAL_AS_OF.replace(year=INITIAL_AS_OF.year + HORIZON_YEARS)
    if last > horizon:
        raise ValueError(f"the firm is planned up to {horizon}; cannot simulate to {last}")
    while day <= last:
        with store.transaction() as conn:
            _simulate_day(conn, plan, config, day)
            conn.execute("update firm_meta set value = ? where key = 'as_of'", (day.isoformat(),))
        day += timedelta(days=1)


def advance(store: SandboxStore, config: FirmConfig, days: int) -> date:
    """Move the firm's clock forward by `days`, adding their activity."""
    if days < 1:
        raise ValueError("days must be at least 1")
    last = date.fromisoformat(store.meta("as_of")) + timedelta(days=days)
    simulate_until(store, plan_firm(config), config, last)
    return last


def _simulate_day(conn, plan: FirmPlan, config: FirmConfig, day: date) -> None:
    rng = random.Random(f"{config.seed}:{day.isoformat()}")
    _deal_events(conn, plan, day)
    _hr_events(conn, plan, day)
    _psa_events(conn, plan, day)
    if day.weekday() < 5:
        _log_time(conn, rng, plan, config, day)
    if day.weekday() == 0:
        _approve_timesheets(conn, day)
    if day.day == INVOICE_DAY:
        _invoice_month(conn, rng, plan, config, months_before(day, 1), day)


def _deal_events(conn, plan: FirmPlan, day: date) -> None:
    for deal in plan.created_on.get(day, []):
        stamp = iso(at(day, 10))
        conn.execute(
            "insert into hubspot_deals values (?, ?, ?, ?, 'appointmentscheduled', 'default', ?, "
            "null, ?, ?)",
            (
                deal.id,
                deal.name,
                money_text(deal.amount),
                deal.client.currency,
                iso(at(deal.closes_on, 16)),
                stamp,
                stamp,
            ),
        )
    for deal in plan.closing_on.get(day, []):
        conn.execute(
            "update hubspot_deals set dealstage = ?, psa_project_code = ?, hs_lastmodifieddate = ? "
            "where id = ?",
            (
                deal.stage_at_close,
                deal.project.code if deal.project else None,
                iso(at(day, 16)),
                deal.id,
            ),
        )


def _hr_events(conn, plan: FirmPlan, day: date) -> None:
    """Hires, pay changes, holiday requests and leavers, as HR records them that day."""
    stamp = iso(at(day, 8))
    for c in plan.hired_on.get(day, []):
        city = ENTITIES[c.entity][1]
        conn.execute(
            "insert into bamboohr_employees values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, null, 'Active', "
            "1.0, ?, ?)",
            (
                c.id,
                c.first_name,
                c.last_name,
                c.role,
                c.practice,
                c.entity,
                city,
                work_email(c),
                None,
                day.isoformat(),
                stamp,
                stamp,
            ),
        )
    for c, change in plan.pay_changes_on.get(day, []):
        conn.execute(
            "insert into bamboohr_compensation values (?, ?, ?, ?, ?, 'Hourly', ?, ?)",
            (
                change.id,
                c.id,
                day.isoformat(),
                money_text(change.rate),
                c.currency,
                change.reason,
                stamp,
            ),
        )
    for c, leave in plan.leave_requested_on.get(day, []):
        days = (leave.ends_on - leave.starts_on).days + 1
        conn.execute(
            "insert into bamboohr_time_off values (?, ?, ?, ?, ?, 'approved', ?, ?, ?)",
            (
                leave.id,
                c.id,
                leave.starts_on.isoformat(),
                leave.ends_on.isoformat(),
                leave.kind,
                days,
                stamp,
                stamp,
            ),
        )
    for c in plan.leaving_on.get(day, []):
        conn.execute(
            "update bamboohr_employees set status = 'Inactive', termination_date = ?, "
            "last_changed = ? where id = ?",
            (day.isoformat(), stamp, c.id),
        )


def psa_user_id(consultant: Consultant) -> int:
    """The PSA numbers its users its own way; they are matched to HR by e-mail."""
    return consultant.id + 78_000


def work_email(consultant: Consultant) -> str:
    return f"{consultant.first_name}.{consultant.last_name}.{consultant.id}@firm.example".lower()


def _psa_events(conn, plan: FirmPlan, day: date) -> None:
    """Users, workspaces with their stories and assignments, milestones done, projects closed."""
    stamp = iso(at(day, 11))
    for c in plan.hired_on.get(day, []):
        conn.execute(
            "insert into kantata_users values (?, ?, ?, ?, 0, ?, ?)",
            (psa_user_id(c), c.name, work_email(c), c.role, stamp, stamp),
        )
    for c in plan.leaving_on.get(day, []):
        conn.execute(
            "update kantata_users set disabled = 1, updated_at = ? where id = ?",
            (stamp, psa_user_id(c)),
        )
    for p in plan.workspaces_opened_on.get(day, []):
        if not p.has_workspace:
            _record_truth(
                conn,
                "won_deal_without_project",
                "kantata",
                p.deal_id,
                plan.deals_by_id[p.deal_id].amount,
                p.client.currency,
                f"won deal {p.deal_id} ({p.code}) was never set up as a PSA workspace",
            )
            continue
        conn.execute(
            "insert into kantata_workspaces values (?, ?, 'Active', ?, ?, ?, ?, ?)",
            (
                p.workspace_id,
                f"{p.code} {p.name}",
                p.starts_on.isoformat(),
                p.ends_on.isoformat(),
                p.client.currency,
                stamp,
                stamp,
            ),
        )
        conn.executemany(
            "insert into kantata_stories values (?, ?, ?, ?, 'not started', ?, ?, ?, ?, ?)",
            [
                (
                    s.id,
                    p.workspace_id,
                    s.title,
                    s.kind,
                    p.starts_on.isoformat(),
                    s.due_on.isoformat(),
                    int(s.amount * 100) if s.amount is not None else None,
                    stamp,
                    stamp,
                )
                for s in p.stories
            ],
        )
        conn.executemany(
            "insert into kantata_assignments values (?, ?, ?, ?, ?, ?)",
            [
                (s.id * 10 + n, s.id, p.workspace_id, psa_user_id(member), stamp, stamp)
                for s in p.stories
                if s.kind == "task"
                for n, member in enumerate(p.team)
            ],
        )
    for _, story in plan.milestones_due_on.get(day, []):
        conn.execute(
            "update kantata_stories set state = 'completed', updated_at = ? where id = ?",
            (iso(at(day, 17)), story.id),
        )
    for p in plan.workspaces_closed_on.get(day, []):
        conn.execute(
            "update kantata_workspaces set status = 'Completed', updated_at = ? where id = ?",
            (iso(at(day, 17)), p.workspace_id),
        )
        conn.execute(
            "update kantata_stories set state = 'completed', updated_at = ? "
            "where workspace_id = ? and story_type = 'task'",
            (iso(at(day, 17)), p.workspace_id),
        )


def _log_time(conn, rng: random.Random, plan: FirmPlan, config: FirmConfig, day: date) -> None:
    """Each consultant at work splits the day into one to three entries across their projects."""
    next_id = conn.execute(
        "select coalesce(max(id), 700000000) + 1 from harvest_time_entries"
    ).fetchone()[0]
    rows = []
    stamp = iso(at(day, 18))
    for consultant in plan.consultants:
        if not consultant.employed(day) or consultant.on_leave(day) or rng.random() < 0.03:
            continue
        projects = [p for p in consultant.projects if p.active(day)]
        if not projects:
            continue
        for hours in _split_day(rng, rng.choice(DAY_HOURS), rng.choice(ENTRIES_PER_DAY)):
            project = rng.choice(projects)
            task_id, task_name = rng.choice(TASKS)
            billable = rng.random() < 0.9
            entry_id = next_id + len(rows)
            code, harvest_project_id = project.code, project.id
            if billable and rng.random() < config.defects.unmapped_project_code:
                code, harvest_project_id = project.unmapped_code, project.id + 500_000
                _record_truth(
                    conn,
                    "unmapped_project_code",
                    "harvest",
                    entry_id,
                    to_cents(Decimal(str(hours)) * project.rate),
                    project.client.currency,
                    f"billable time booked to {code}, a code only Harvest knows (meant {project.code})",
                )
            rows.append(
                (
                    entry_id,
                    day.isoformat(),
                    hours,
                    f"{project.name}: {task_name}",
                    0,
                    0,
                    0,
                    int(billable),
                    float(project.rate) if billable else None,
                    float(consultant.cost_rate_on(day)),
                    consultant.id,
                    consultant.name,
                    project.client.id,
                    project.client.name,
                    project.client.currency,
                    harvest_project_id,
                    project.name,
                    code,
                    task_id,
                    task_name,
                    stamp,
                    stamp,
                )
            )
    conn.executemany(f"insert into harvest_time_entries values ({', '.join('?' * 22)})", rows)


def _split_day(rng: random.Random, total: float, parts: int) -> list[float]:
    """`total` hours in `parts` entries of whole half hours, each at least one hour."""
    halves = int(total * 2)
    cuts = sorted(rng.sample(range(2, halves - 1, 2), k=parts - 1)) if parts > 1 else []
    bounds = [0, *cuts, halves]
    return [(b - a) / 2 for a, b in zip(bounds, bounds[1:], strict=False)]


def _approve_timesheets(conn, monday: date) -> None:
    """Timesheets are approved on the Monday a week after the week they belong to."""
    first, last = monday - timedelta(days=14), monday - timedelta(days=8)
    conn.execute(
        "update harvest_time_entries set is_closed = 1, is_locked = 1, updated_at = ? "
        "where spent_date between ? and ? and is_closed = 0",
        (iso(at(monday, 9)), first.isoformat(), last.isoformat()),
    )


def _invoice_month(
    conn, rng: random.Random, plan: FirmPlan, config: FirmConfig, month: date, invoice_on: date
) -> None:
    """Monthly T&M invoices per project; some approved time is left off on purpose."""
    entries = conn.execute(
        "select id, spent_date, hours, billable_rate, user_name, client_currency, project_code, "
        "client_id from harvest_time_entries where billable = 1 and is_closed = 1 "
        "and spent_date >= ? and spent_date < ? order by project_code, id",
        (month.isoformat(), next_month(month).isoformat()),
    ).fetchall()
    by_project: dict[str, list] = defaultdict(list)
    for entry in entries:
        by_project[entry["project_code"]].append(entry)
    erp_customer = plan.erp_customer_ids
    invoice_id = conn.execute(
        "select coalesce(max(id), 10000) + 1 from netsuite_transaction where id < ?",
        (CLIENT_TRANSACTION_IDS,),
    ).fetchone()[0]
    line_key = conn.execute(
        "select coalesce(max(uniquekey), 0) + 1 from netsuite_transactionline where uniquekey < ?",
        (CLIENT_LINE_KEYS,),
    ).fetchone()[0]
    stamp = iso(at(invoice_on, 12))
    for code, billable in sorted(by_project.items()):
        if code not in plan.project_codes:  # the ERP cannot bill a code it does not know
            continue
        skipped = [e for e in billable if rng.random() < config.defects.unbilled_time]
        if len(skipped) == len(billable):  # a month is never wholly forgotten: keep the first
            skipped = skipped[1:]
        for entry in skipped:
            _record_truth(
                conn,
                "unbilled_time",
                "harvest",
                entry["id"],
                _line_amount(entry),
                entry["client_currency"],
                f"approved billable time on {code} left off the {month:%Y-%m} invoice",
            )
        skipped_ids = {e["id"] for e in skipped}
        billed = [e for e in billable if e["id"] not in skipped_ids]
        for entry in _billed_last_month(conn, code, month):  # billed again, by mistake
            if rng.random() < config.defects.time_billed_twice:
                billed.append(entry)
                _record_truth(
                    conn,
                    "time_billed_twice",
                    "netsuite",
                    entry["id"],
                    _line_amount(entry),
                    entry["client_currency"],
                    f"time entry {entry['id']} billed again on the {month:%Y-%m} invoice of {code}",
                )
        lines = []
        for seq, entry in enumerate(billed, start=1):
            lines.append(
                (
                    line_key,
                    invoice_id,
                    seq,
                    "Professional Services",
                    f"{entry['user_name']} {entry['spent_date']}",
                    str(entry["hours"]),
                    money_text(Decimal(str(entry["billable_rate"]))),
                    money_text(_line_amount(entry)),
                    entry["id"],
                    stamp,
                )
            )
            line_key += 1
        total = sum((_line_amount(e) for e in billed), Decimal(0))
        conn.execute(
            "insert into netsuite_transaction values (?, ?, 'CustInvc', null, ?, ?, ?, 'open', ?, "
            "?, ?, ?, ?)",
            (
                invoice_id,
                f"INV{invoice_id - 10000:05d}",
                erp_customer[billable[0]["client_id"]],
                invoice_on.isoformat(),
                billable[0]["client_currency"],
                f"{code} time and materials {month:%Y-%m}",
                code,
                money_text(total),
                stamp,
                stamp,
            ),
        )
        conn.executemany(
            f"insert into netsuite_transactionline values ({', '.join('?' * 10)})", lines
        )
        invoice_id += 1


def _billed_last_month(conn, code: str, month: date) -> list:
    previous = months_before(month, 1)
    return conn.execute(
        "select e.id, e.spent_date, e.hours, e.billable_rate, e.user_name, e.client_currency, "
        "e.project_code, e.client_id from harvest_time_entries e where e.project_code = ? "
        "and e.spent_date >= ? and e.spent_date < ? and exists (select 1 from "
        "netsuite_transactionline l where l.custcol_time_entry_id = e.id "
        'and l."transaction" < ?) order by e.id',  # the firm's own invoices, not clients' drafts
        (code, previous.isoformat(), month.isoformat(), CLIENT_TRANSACTION_IDS),
    ).fetchall()


def _record_truth(
    conn,
    kind: str,
    system: str,
    record_id,
    amount: Decimal | None,
    currency: str | None,
    detail: str,
) -> None:
    conn.execute(
        "insert into sandbox_truth values (?, ?, ?, ?, ?, ?)",
        (
            kind,
            system,
            str(record_id),
            money_text(amount) if amount is not None else None,
            currency,
            detail,
        ),
    )


def _line_amount(entry) -> Decimal:
    return to_cents(Decimal(str(entry["hours"])) * Decimal(str(entry["billable_rate"])))


def _impossible_hours(conn, config: FirmConfig) -> None:
    """Re-record a few entries with impossible hours, after everything else is drawn.

    A separate random stream keeps every other record identical to the clean firm of the same
    seed, so a test can load the clean firm and then the corrupted one into one warehouse.
    """
    ids = [row[0] for row in conn.execute("select id from harvest_time_entries order by id")]
    picked = random.Random(f"{config.seed}-impossible-hours").sample(
        ids, k=config.defects.impossible_hours
    )
    stamp = iso(at(INITIAL_AS_OF, 23, 59))
    for entry_id in picked:
        conn.execute(
            "update harvest_time_entries set hours = 30.0, updated_at = ? where id = ?",
            (stamp, entry_id),
        )
        _record_truth(
            conn,
            "malformed_record",
            "harvest",
            entry_id,
            None,
            None,
            "hours greater than 24 in one day",
        )
