"""The firm's plan: everything structural, drawn once from the seed.

The staff with their hire and leave dates, pay and holidays; the clients and their parent
groups; the deal pipeline with each deal's quote; and for each won deal a contract (SOW) with
its billing model, rate card and amendments, and the project with its team and stories. The plan
covers the firm's history and a horizon of future years and never depends on how far the
simulation has gone, which is what makes `advance` deterministic.

Defects that are structural (a won deal never set up, a duplicate ERP customer, a wrong
cross-reference, rates the time tool picks up late) are decided here; the simulation records
them as ground truth when they happen.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import random
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from psa_pipeline.money import to_cents
from psa_pipeline.sandbox.calendar import months_before, months_spanned
from psa_pipeline.settings import SYSTEMS

INITIAL_AS_OF = date(2026, 6, 30)  # the firm's "today" when it is generated
HORIZON_YEARS = 3  # how far past INITIAL_AS_OF the plan reaches (time travel's limit)

ROLES = {  # role: (cost rate per hour, weight in the consultant mix, bill rate / senior rate)
    "Analyst": (55, 4, Decimal("0.6")),
    "Consultant": (75, 5, Decimal("0.8")),
    "Senior Consultant": (95, 4, Decimal("1.0")),
    "Manager": (120, 2, Decimal("1.25")),
    "Partner": (170, 1, Decimal("1.6")),
}
FIRST_NAMES = (
    "Ada Ben Chloe Dev Elena Farid Grace Hugo Ines Jonas Kira Liam Maya Noah Olga Priya Quinn "
    "Rosa Sami Tara"
).split()
LAST_NAMES = (
    "Adler Brandt Costa Dubois Evans Fischer Garcia Hall Ito Jensen Kowalski Lopez Moreau "
    "Nakamura Okafor Patel"
).split()
PRACTICES = ["Strategy", "Technology", "Finance", "Operations"]
# legal entity: (currency, city, country, ERP subsidiary id, subsidiary name)
ENTITIES = {
    "US": ("USD", "New York", "US", 1, "Northwind Consulting Inc."),
    "UK": ("GBP", "London", "GB", 2, "Northwind Consulting Ltd"),
    "DE": ("EUR", "Berlin", "DE", 3, "Northwind Consulting GmbH"),
}
ENTITY_WEIGHTS = ["US", "US", "US", "UK", "UK", "DE"]
ENTITY_OF_CURRENCY = {currency: entity for entity, (currency, *_) in ENTITIES.items()}
CLIENT_WORDS = (
    "Acme Borealis Cobalt Delta Evergreen Fjord Granite Helix Iris Juniper Keystone Lumen "
    "Meridian Nimbus Orion Pinnacle"
).split()
CLIENT_SUFFIXES = ["Holdings", "Logistics", "Health", "Energy", "Retail", "Labs", "Bank", "Foods"]
# how a name typed by hand into another system drifts from the CRM's
NAME_VARIANTS = ["{name}", "{name}", "{name} Ltd", "{upper}", "{name}, Inc.", "The {name}"]
OPEN_STAGES = [
    "appointmentscheduled",
    "qualifiedtobuy",
    "presentationscheduled",
    "decisionmakerboughtin",
]
DEAL_KINDS = ["Advisory", "Implementation", "Audit", "Strategy"]
CURRENCIES = ["USD", "USD", "EUR", "GBP"]
BILLING_MODELS = {"time_and_materials": 55, "fixed_fee": 20, "milestone": 15, "retainer": 10}


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
    """How often each kind of defect is injected (a probability per chance, unless a count)."""

    unbilled_time: float = 0.03  # approved billable entry left off its project's monthly invoice
    superseded_rate: float = 0.5  # a T&M rate amendment the time tool picks up weeks late
    time_billed_twice: float = 0.004  # a billed entry billed again on the next month's invoice
    milestone_not_invoiced: float = 0.05  # a completed milestone of a milestone contract
    expense_not_invoiced: float = 0.03  # an approved billable expense left off its invoice
    won_deal_without_project: float = 0.05  # never set up in the PSA or the ERP, so never done
    unmapped_project_code: float = 0.004  # billable time booked to a code no other system knows
    duplicate_customer: float = 0.25  # a client entered in the ERP a second time, under a variant
    wrong_external_id: float = 0.05  # an ERP customer whose CRM reference points elsewhere
    malformed_records: int = 0  # records re-written broken after generation (a count)

    def __post_init__(self):
        for name, value in asdict(self).items():
            if name == "malformed_records":
                if not isinstance(value, int) or value < 0:
                    raise ValueError(
                        f"malformed_records must be a count (0 or more), not {value!r}"
                    )
            elif not isinstance(value, int | float) or not 0 <= value <= 1:
                raise ValueError(f"{name} must be a probability from 0 to 1, not {value!r}")


KNOB_LIMITS = {"consultants": (2, 20_000), "clients": (1, 5_000), "months": (1, 60)}


@dataclass(frozen=True)
class FirmConfig:
    """A size, with any of its knobs (consultants, clients, months) set explicitly."""

    seed: int = 7
    size: str = "small"
    defects: DefectRates = field(default_factory=DefectRates)
    consultants: int | None = None
    clients: int | None = None
    months: int | None = None
    # systems the firm has nothing in yet (a new tenant): they answer every read with nothing
    empty_systems: tuple[str, ...] = ()

    def __post_init__(self):
        if self.size not in SIZES:
            raise ValueError(f"unknown firm size {self.size!r}; choose one of {sorted(SIZES)}")
        unknown = sorted(set(self.empty_systems) - set(SYSTEMS))
        if unknown:
            raise ValueError(f"unknown systems {unknown} to leave empty; known: {list(SYSTEMS)}")
        object.__setattr__(self, "empty_systems", tuple(sorted(set(self.empty_systems))))
        for knob, (low, high) in KNOB_LIMITS.items():
            value = getattr(self, knob)
            if value is not None and not low <= value <= high:
                raise ValueError(f"{knob} must be between {low} and {high}, not {value}")

    @property
    def scale(self) -> FirmSize:
        """The size's figures, with the knobs set explicitly taking their place."""
        return dataclasses.replace(SIZES[self.size], **self._knobs)

    @property
    def _knobs(self) -> dict[str, int]:
        return {
            knob: getattr(self, knob) for knob in KNOB_LIMITS if getattr(self, knob) is not None
        }

    @classmethod
    def of_meta(cls, meta) -> FirmConfig:
        """The configuration a store was generated with (`meta` reads its firm_meta)."""
        return cls(
            seed=int(meta("seed")),
            size=meta("size"),
            defects=DefectRates(**json.loads(meta("defects"))),
            empty_systems=tuple(json.loads(meta("empty_systems") or "[]")),
            **json.loads(meta("knobs")),
        )

    @property
    def knobs_json(self) -> str:
        return json.dumps(self._knobs, sort_keys=True)

    @property
    def defects_json(self) -> str:
        return json.dumps(asdict(self.defects), sort_keys=True)

    @property
    def key(self) -> str:
        """Names the store file: one firm per distinct configuration."""
        key = f"{self.size}-s{self.seed}"
        key += "".join(f"-{knob[:2]}{value}" for knob, value in self._knobs.items())
        if self.defects != DefectRates():
            key += "-d" + hashlib.sha256(self.defects_json.encode()).hexdigest()[:8]
        if self.empty_systems:
            key += "-empty-" + "-".join(self.empty_systems)
        return key


def first_day(size: FirmSize) -> date:
    """The first day consultants log time; CRM, HR, PSA and ERP records start earlier."""
    return months_before(INITIAL_AS_OF, size.months - 1)


def horizon() -> date:
    return INITIAL_AS_OF.replace(year=INITIAL_AS_OF.year + HORIZON_YEARS)


# ---------------------------------------------------------------------------------- people


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


@dataclass(eq=False)
class Consultant:
    id: int  # HR's id; the PSA and the time tool number their users their own way
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

    @property
    def email(self) -> str:
        """The one key HR, the PSA and the time tool share for a person."""
        return f"{self.first_name}.{self.last_name}.{self.id}@firm.example".lower()

    @property
    def psa_user_id(self) -> int:
        return self.id + 78_000

    @property
    def harvest_user_id(self) -> int:
        return self.id + 3_100_000

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


# ---------------------------------------------------------------------------------- clients


@dataclass(eq=False)
class Client:
    id: int  # the time tool's client id
    name: str
    currency: str
    parent: Client | None = None
    harvest_name: str = ""  # the name as typed into the time tool
    duplicate_erp_id: int | None = None  # a second ERP customer for the same client (a defect)
    erp_external_id_wrong: bool = False  # its ERP customer points at another CRM company
    erp_external_id_missing: bool = False  # nobody typed the CRM reference into the ERP
    crm_erp_id_missing: bool = False  # nobody typed the ERP reference into the CRM
    pays_after_days: int = 30  # this client's usual delay after an invoice's due date

    @property
    def company_id(self) -> int:
        """The CRM's id for the company."""
        return 7_000_000 + self.id

    @property
    def erp_customer_id(self) -> int:
        return 4_700 + self.id

    @property
    def domain(self) -> str:
        return "".join(ch for ch in self.name.lower() if ch.isalnum()) + ".example"

    @property
    def entity(self) -> str:
        return ENTITY_OF_CURRENCY[self.currency]

    def variant(self, template: str) -> str:
        return template.format(name=self.name, upper=self.name.upper())


# ---------------------------------------------------------------------------------- contracts


@dataclass(frozen=True)
class ContractVersion:
    """The contract as signed (number 1) or as amended: each amendment is a new version."""

    id: int  # the CRM's p_contracts record id
    number: int
    signed_on: date
    effective_on: date
    rates: dict[str, Decimal]  # role -> hourly bill rate
    total_value: Decimal
    monthly_fee: Decimal | None  # retainers
    reason: str | None  # what the amendment changed; None for the original
    time_tool_from: date  # when the time tool starts using these rates (late: a defect)


@dataclass(eq=False)
class Contract:
    number: str
    billing_model: str
    versions: list[ContractVersion]
    months: list[date]  # every month the project runs, by its first day

    def version_on(self, day: date) -> ContractVersion:
        """The version in force on `day` (the original, before the project starts)."""
        return next((v for v in reversed(self.versions) if v.effective_on <= day), self.versions[0])

    @property
    def rate_changes(self) -> list[ContractVersion]:
        """The original and every version that changed the rates."""
        return [
            v
            for n, v in enumerate(self.versions)
            if n == 0 or v.rates != self.versions[n - 1].rates
        ]

    def rate_on(self, role: str, day: date) -> Decimal:
        return self.version_on(day).rates[role]

    def time_tool_rate_on(self, role: str, day: date) -> Decimal:
        """The rate the time tool stamps on an entry: the contract's, unless it is late."""
        picked_up = [v for v in self.versions if v.time_tool_from <= day]
        return (picked_up[-1] if picked_up else self.versions[0]).rates[role]

    @functools.cached_property
    def fees(self) -> dict[date, Decimal]:
        """What a fixed-fee or retainer contract invoices for each month it runs.

        A fixed fee is spread evenly over the months; after a budget change the rest of the fee
        is spread over the months left. A retainer invoices the monthly fee in force.
        """
        if self.billing_model == "retainer":
            return {month: self.version_on(month).monthly_fee for month in self.months}
        if self.billing_model != "fixed_fee":
            return {}
        fees: dict[date, Decimal] = {}
        for n, month in enumerate(self.months):
            left = self.version_on(month).total_value - sum(fees.values(), Decimal(0))
            fees[month] = (
                left if n == len(self.months) - 1 else to_cents(left / (len(self.months) - n))
            )
        return fees


# ---------------------------------------------------------------------------------- projects


@dataclass(frozen=True)
class Story:
    """A task or a milestone of a project, as the PSA holds it."""

    id: int
    title: str
    kind: str  # task or milestone
    due_on: date
    amount: Decimal | None  # what completing the milestone is invoiced at (milestone contracts)


@dataclass(frozen=True)
class QuoteLine:
    name: str
    quantity: Decimal
    price: Decimal

    @property
    def amount(self) -> Decimal:
        return to_cents(self.quantity * self.price)


@dataclass(eq=False)
class Project:
    id: int
    code: str
    name: str
    client: Client
    contract: Contract
    starts_on: date
    ends_on: date
    deal_id: int
    erp_customer_id: int  # the client's ERP customer, or its duplicate (a defect)
    set_up: bool = True  # False: never set up in the PSA or the ERP, so never staffed (a defect)
    team: list[Consultant] = field(default_factory=list)
    stories: list[Story] = field(default_factory=list)

    @property
    def unmapped_code(self) -> str:
        """A code only the time tool knows, that some time is booked to by mistake (a defect)."""
        return self.code.replace("PRJ-", "PRJ-X")

    @property
    def workspace_id(self) -> int:
        """The PSA's own id for the project (each system numbers its records its own way)."""
        return self.id + 20_000

    @property
    def erp_job_id(self) -> int:
        return self.id + 60_000

    @property
    def opened_on(self) -> date:
        """The PSA workspace and the time tool's project are set up two days before the work."""
        return self.starts_on - timedelta(days=2)

    def active(self, day: date) -> bool:
        return self.starts_on <= day <= self.ends_on


@dataclass(frozen=True)
class Deal:
    id: int
    name: str
    client: Client
    quote: list[QuoteLine]
    created_on: date
    closes_on: date
    stage_at_close: str  # closedwon, closedlost, or contractsent (still open)
    project: Project | None

    @property
    def amount(self) -> Decimal:
        return sum((line.amount for line in self.quote), Decimal(0))

    @property
    def stages(self) -> list[tuple[date, str]]:
        """The stages a deal moves through on the way to its close, evenly spaced."""
        span = (self.closes_on - self.created_on).days
        return [
            (self.created_on + timedelta(days=span * n // 4), stage)
            for n, stage in enumerate(OPEN_STAGES[1:], start=1)
        ]


# ---------------------------------------------------------------------------------- the plan


def _index(items, key) -> dict:
    index: dict = {}
    for item in items:
        index.setdefault(key(item), []).append(item)
    return index


@dataclass
class FirmPlan:
    consultants: list[Consultant]
    clients: list[Client]  # parent groups included
    deals: list[Deal]

    @functools.cached_property
    def earliest(self) -> date:
        return min(min(d.created_on for d in self.deals), min(c.hired_on for c in self.consultants))

    @functools.cached_property
    def projects(self) -> list[Project]:
        """Every won deal's project, set up or not."""
        return [deal.project for deal in self.deals if deal.project]

    @functools.cached_property
    def delivered(self) -> list[Project]:
        """The projects set up in the PSA and the ERP: the ones worked, amended and invoiced."""
        return [project for project in self.projects if project.set_up]

    @functools.cached_property
    def deals_by_id(self) -> dict[int, Deal]:
        return {deal.id: deal for deal in self.deals}

    @functools.cached_property
    def projects_by_code(self) -> dict[str, Project]:
        """The codes the CRM, PSA and ERP know; the time tool may hold others (defects)."""
        return {project.code: project for project in self.projects}

    def projects_running_in(self, month: date) -> list[Project]:
        return self._projects_by_month.get(month, [])

    @functools.cached_property
    def _projects_by_month(self) -> dict[date, list[Project]]:
        pairs = [(month, p) for p in self.delivered for month in p.contract.months]
        return {
            month: [p for _, p in pairs] for month, pairs in _index(pairs, lambda mp: mp[0]).items()
        }

    @functools.cached_property
    def consultants_by_time_tool_id(self) -> dict[int, Consultant]:
        return {c.harvest_user_id: c for c in self.consultants}

    # what happens on which day, looked up by the simulation

    @functools.cached_property
    def deals_created_on(self) -> dict[date, list[Deal]]:
        return _index(self.deals, lambda d: d.created_on)

    @functools.cached_property
    def deals_closing_on(self) -> dict[date, list[Deal]]:
        return _index(self.deals, lambda d: d.closes_on)

    @functools.cached_property
    def hired_on(self) -> dict[date, list[Consultant]]:
        return _index(self.consultants, lambda c: c.hired_on)

    @functools.cached_property
    def leaving_on(self) -> dict[date, list[Consultant]]:
        return _index([c for c in self.consultants if c.left_on], lambda c: c.left_on)

    @functools.cached_property
    def pay_changes_on(self) -> dict[date, list[tuple[Consultant, PayChange]]]:
        return _index([(c, p) for c in self.consultants for p in c.pay], lambda cp: cp[1].starts_on)

    @functools.cached_property
    def leave_requested_on(self) -> dict[date, list[tuple[Consultant, Leave]]]:
        pairs = [(c, leave) for c in self.consultants for leave in c.leave]
        return _index(pairs, lambda cl: cl[1].requested_on)

    @functools.cached_property
    def projects_opened_on(self) -> dict[date, list[Project]]:
        return _index(self.delivered, lambda p: p.opened_on)

    @functools.cached_property
    def projects_closed_on(self) -> dict[date, list[Project]]:
        return _index(self.delivered, lambda p: p.ends_on)

    @functools.cached_property
    def amendments_signed_on(self) -> dict[date, list[tuple[Project, ContractVersion]]]:
        pairs = [(p, v) for p in self.delivered for v in p.contract.versions[1:]]
        return _index(pairs, lambda pv: pv[1].signed_on)

    @functools.cached_property
    def milestones_due_on(self) -> dict[date, list[tuple[Project, Story]]]:
        pairs = [(p, s) for p in self.delivered for s in p.stories if s.kind == "milestone"]
        return _index(pairs, lambda ps: ps[1].due_on)

    @functools.cached_property
    def deal_stages_on(self) -> dict[date, list[tuple[date, Deal, str]]]:
        moves = [(day, deal, stage) for deal in self.deals for day, stage in deal.stages]
        return _index(moves, lambda move: move[0])

    @functools.cached_property
    def company_created(self) -> dict[Client, date]:
        """A company enters the CRM with its first deal; a parent group with its first child."""
        first: dict[Client, date] = {}
        for deal in sorted(self.deals, key=lambda d: d.created_on):
            for client in (deal.client.parent, deal.client):
                if client is not None:
                    first.setdefault(client, deal.created_on)
        return first

    @functools.cached_property
    def companies_created_on(self) -> dict[date, list[Client]]:
        return _index(self.company_created, lambda client: self.company_created[client])

    @functools.cached_property
    def customers_created_on(self) -> dict[date, list[Client]]:
        """A client enters the ERP (and the time tool) when its first deal is won."""
        first: dict[Client, date] = {}
        for deal in sorted(self.deals, key=lambda d: d.closes_on):
            if deal.project:
                for client in (deal.client.parent, deal.client):
                    if client is not None:
                        first.setdefault(client, deal.closes_on)
        return _index(first, lambda client: first[client])


def plan_firm(config: FirmConfig) -> FirmPlan:
    """Everything structural, drawn from the seed alone."""
    rng = random.Random(f"{config.seed}:plan")
    size = config.scale
    start = first_day(size)
    consultants = _staff(rng, size.consultants, start, horizon())
    operating, groups = _clients(rng, size.clients, config.defects)
    deals = _pipeline(rng, operating, consultants, size, start, config.defects)
    _duplicate_customers(rng, deals, config.defects)
    return FirmPlan(consultants=consultants, clients=operating + groups, deals=deals)


def _staff(rng: random.Random, headcount: int, start: date, end: date) -> list[Consultant]:
    """The founding staff, then a replacement hire a month after each leaver."""
    roles = [role for role, (_, weight, _) in ROLES.items() for _ in range(weight)]
    staff: list[Consultant] = []

    def hire(hired_on: date) -> None:
        left_on = hired_on + timedelta(days=rng.randint(365, 365 * 8))
        staff.append(
            Consultant(
                id=2000 + len(staff) + 1,
                first_name=rng.choice(FIRST_NAMES),
                last_name=rng.choice(LAST_NAMES),
                role=rng.choice(roles),
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


def _clients(
    rng: random.Random, count: int, defects: DefectRates
) -> tuple[list[Client], list[Client]]:
    """`count` operating clients, a quarter of them belonging to one of a few parent groups."""
    clients = []
    for n in range(1, count + 1):
        client = Client(
            id=300 + n,
            name=f"{rng.choice(CLIENT_WORDS)} {rng.choice(CLIENT_SUFFIXES)} {n}",
            currency=rng.choice(CURRENCIES),
        )
        client.harvest_name = client.variant(rng.choice(NAME_VARIANTS))
        client.pays_after_days = rng.randint(0, 45)
        client.erp_external_id_missing = rng.random() < 0.08
        client.erp_external_id_wrong = not client.erp_external_id_missing and (
            rng.random() < defects.wrong_external_id
        )
        client.crm_erp_id_missing = rng.random() < 0.2
        clients.append(client)
    groups = [
        Client(id=300 + count + n, name=f"{rng.choice(CLIENT_WORDS)} Group {n}", currency="USD")
        for n in range(1, max(1, count // 6) + 1)
    ]
    for client in clients:
        if rng.random() < 0.25:
            client.parent = rng.choice(groups)
    return clients, groups


def _staff_project(rng, consultants: list[Consultant], starts_on: date, team_size: int):
    """The least busy of a few consultants drawn at random ("power of d choices").

    As even as ranking the whole staff, at the cost of a handful: a large firm staffs
    thousands of projects.
    """
    drawn = rng.sample(consultants, k=min(len(consultants), 6 * team_size))
    # on staff when the PSA workspace opens (two days early) and the assignments are made
    available = [c for c in drawn if c.employed(starts_on - timedelta(days=2))]
    available.sort(key=lambda c: (sum(p.active(starts_on) for p in c.projects), rng.random()))
    return available[:team_size]


def _quote(rng, model: str, senior_rate: int, hours: int, months: int) -> list[QuoteLine]:
    """The deal's line items: hours per role at the rate card, or the fee that replaces them."""
    rates = _rate_card(senior_rate)
    roles = rng.sample(list(ROLES), k=3)
    per_role = Decimal(hours // 3)
    lines = [QuoteLine(f"Consulting - {role}", per_role, rates[role]) for role in roles]
    estimate = sum((line.amount for line in lines), Decimal(0))
    if model == "fixed_fee":
        fee = Decimal(round(float(estimate) * rng.uniform(0.85, 1.05), -2))
        return [QuoteLine("Fixed fee", Decimal(1), fee)]
    if model == "retainer":
        return [
            QuoteLine(
                "Monthly retainer", Decimal(months), Decimal(round(float(estimate) / months, -2))
            )
        ]
    if model == "milestone":
        return [QuoteLine("Milestone payments", Decimal(1), Decimal(round(float(estimate), -2)))]
    return lines


def _rate_card(senior_rate: int | Decimal) -> dict[str, Decimal]:
    return {role: Decimal(round(senior_rate * factor)) for role, (_, _, factor) in ROLES.items()}


def _pipeline(
    rng, clients, consultants, size: FirmSize, start: date, defects: DefectRates
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
    models = [model for model, weight in BILLING_MODELS.items() for _ in range(weight)]
    while (day := first + timedelta(days=int(offset))) <= horizon():
        offset += rng.expovariate(1 / mean_gap_days)
        deal_id += rng.randint(1, 40)
        client = rng.choice(clients)
        closes_on = day + timedelta(days=rng.randint(10, 60))
        outcome = "closedwon" if rng.random() < 0.7 else rng.choice(["closedlost", "contractsent"])
        senior_rate = rng.randrange(120, 225, 5)
        starts_on = closes_on + timedelta(days=rng.randint(3, 14))  # if it is won
        ends_on = starts_on + timedelta(days=30 * rng.randint(3, 9))
        model = rng.choice(models)
        hours = rng.randrange(240, 1600, 30)
        quote = _quote(rng, model, senior_rate, hours, len(months_spanned(starts_on, ends_on)))
        name = f"{client.name} - {rng.choice(DEAL_KINDS)}"
        project = None
        if outcome == "closedwon":
            projects += 1
            project = Project(
                id=40_000 + projects,
                code=f"PRJ-{1000 + projects}",
                name=name,
                client=client,
                contract=_contract(
                    rng, projects, model, quote, senior_rate, closes_on, starts_on, ends_on, defects
                ),
                starts_on=starts_on,
                ends_on=ends_on,
                deal_id=deal_id,
                erp_customer_id=client.erp_customer_id,
                set_up=rng.random() >= defects.won_deal_without_project,
            )
            if project.set_up:
                project.team = _staff_project(rng, consultants, starts_on, rng.randint(2, 6))
                for member in project.team:
                    member.projects.append(project)
            project.stories = _stories(rng, project)
        deals.append(
            Deal(
                id=deal_id,
                name=name,
                client=client,
                quote=quote,
                created_on=day,
                closes_on=closes_on,
                stage_at_close=outcome,
                project=project,
            )
        )
    return deals


def _contract(
    rng,
    number: int,
    model: str,
    quote: list[QuoteLine],
    senior_rate: int,
    signed_on: date,
    starts_on: date,
    ends_on: date,
    defects: DefectRates,
) -> Contract:
    """The SOW as signed, then up to two amendments, each effective on the first of a month."""
    months = months_spanned(starts_on, ends_on)
    value = sum((line.amount for line in quote), Decimal(0))
    monthly_fee = quote[0].price if model == "retainer" else None
    if model == "retainer":
        value = monthly_fee * len(months)
    first_id = 8_000_000 + number * 10
    versions = [
        ContractVersion(
            first_id,
            1,
            signed_on,
            starts_on,
            _rate_card(senior_rate),
            value,
            monthly_fee,
            None,
            starts_on,
        )
    ]
    amendments = rng.choices([0, 1, 2], weights=[6, 3, 1])[0]
    for effective_on in sorted(rng.sample(months[1:], k=min(amendments, len(months) - 1))):
        last = versions[-1]
        signed = max(
            effective_on - timedelta(days=rng.randint(5, 20)), signed_on + timedelta(days=1)
        )
        rates, total, fee = last.rates, last.total_value, last.monthly_fee
        if model in ("time_and_materials", "milestone") and (
            model == "milestone" or rng.random() < 0.6
        ):
            uplift = Decimal(str(1 + rng.uniform(0.03, 0.08)))
            rates = {role: Decimal(round(rate * uplift)) for role, rate in rates.items()}
            reason = "Rate change"
        elif model == "retainer":
            fee = Decimal(round(float(fee) * rng.uniform(1.05, 1.15), -2))
            earlier = Contract("", model, versions, months)
            total = sum(
                (fee if m >= effective_on else earlier.version_on(m).monthly_fee for m in months),
                Decimal(0),
            )
            reason = "Budget change"
        else:
            total = Decimal(round(float(total) * rng.uniform(1.1, 1.3), -2))
            reason = "Budget change"
        late = (
            reason == "Rate change"
            and model == "time_and_materials"
            and rng.random() < defects.superseded_rate
        )
        time_tool_from = (
            effective_on + timedelta(days=rng.randint(14, 42)) if late else effective_on
        )
        versions.append(
            ContractVersion(
                first_id + last.number,
                last.number + 1,
                signed,
                effective_on,
                rates,
                total,
                fee,
                reason,
                time_tool_from,
            )
        )
    return Contract(f"SOW-{2000 + number}", model, versions, months)


def _stories(rng, project: Project) -> list[Story]:
    """Two to four tasks running to the end, and one to three milestones spread across it.

    A milestone contract invoices its value in equal parts as the milestones complete; in the
    other models milestones are delivery checkpoints with no amount.
    """
    first_id = project.id * 10
    kinds = rng.sample(["Discovery", "Design", "Build", "Test", "Rollout"], k=rng.randint(2, 4))
    stories = [
        Story(first_id + n, f"{kind} work", "task", project.ends_on, None)
        for n, kind in enumerate(kinds)
    ]
    milestones = rng.randint(1, 3)
    span = (project.ends_on - project.starts_on).days
    value = project.contract.versions[0].total_value
    share = to_cents(value / milestones)
    for n in range(1, milestones + 1):
        amount = None
        if project.contract.billing_model == "milestone":
            amount = share if n < milestones else value - share * (milestones - 1)
        stories.append(
            Story(
                first_id + 5 + n,
                f"Milestone {n}",
                "milestone",
                project.starts_on + timedelta(days=span * n // milestones),
                amount,
            )
        )
    return stories


def _duplicate_customers(rng, deals: list[Deal], defects: DefectRates) -> None:
    """Some clients are entered in the ERP twice: their second project is billed to the copy."""
    won: dict[Client, list[Project]] = {}
    for deal in sorted(deals, key=lambda d: d.closes_on):
        if deal.project:
            won.setdefault(deal.client, []).append(deal.project)
    for client, projects in won.items():
        if len(projects) > 1 and rng.random() < defects.duplicate_customer:
            client.duplicate_erp_id = client.erp_customer_id + 50_000
            projects[1].erp_customer_id = client.duplicate_erp_id
