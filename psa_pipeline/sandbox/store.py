"""The sandbox firm's embedded store: one SQLite file per (seed, size).

The firm lives in SQLite rather than in Python objects so that a large firm does not have to fit
in the server's memory, and so that ERP writes persist across a restart of the server. Each
request opens its own short connection (SQLite connections are not shared across threads);
WAL mode lets reads proceed while a write commits.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# ERP records written by clients (the pipeline's reverse sync) are numbered from here, apart from
# the firm's own: what a client writes must never change what the simulated firm does next.
CLIENT_TRANSACTION_IDS = 90_000_000
CLIENT_LINE_KEYS = 900_000_000

SCHEMA = """
create table if not exists firm_meta (key text primary key, value text not null);

-- CRM (HubSpot)
create table if not exists hubspot_deals (
    id integer primary key,
    dealname text not null,
    amount text not null,
    deal_currency_code text not null,
    dealstage text not null,
    pipeline text not null,
    closedate text not null,
    psa_project_code text,
    createdate text not null,
    hs_lastmodifieddate text not null
);

-- Time (Harvest)
create table if not exists harvest_time_entries (
    id integer primary key,
    spent_date text not null,
    hours real not null,
    notes text,
    is_locked integer not null,
    is_closed integer not null,
    is_billed integer not null,
    billable integer not null,
    billable_rate real,
    cost_rate real,
    user_id integer not null,
    user_name text not null,
    client_id integer not null,
    client_name text not null,
    client_currency text not null,
    project_id integer not null,
    project_name text not null,
    project_code text not null,
    task_id integer not null,
    task_name text not null,
    created_at text not null,
    updated_at text not null
);

-- HR (BambooHR): employees, the compensation table, time off
create table if not exists bamboohr_employees (
    id integer primary key,
    first_name text not null,
    last_name text not null,
    job_title text not null,
    department text not null,
    division text not null,
    location text not null,
    work_email text not null,
    supervisor_id integer,
    hire_date text not null,
    termination_date text,
    status text not null,
    fte real not null,
    created text not null,
    last_changed text not null
);
create table if not exists bamboohr_compensation (
    id integer primary key,
    employee_id integer not null,
    start_date text not null,
    rate text not null,
    currency text not null,
    pay_type text not null,
    reason text not null,
    last_changed text not null
);
create table if not exists bamboohr_time_off (
    id integer primary key,
    employee_id integer not null,
    start_date text not null,
    end_date text not null,
    type_name text not null,
    status text not null,
    amount_days integer not null,
    created text not null,
    last_changed text not null
);

-- PSA (Kantata OX): users, workspaces (projects), stories (tasks, milestones), assignments
create table if not exists kantata_users (
    id integer primary key,
    full_name text not null,
    email_address text not null,
    headline text not null,
    disabled integer not null,
    created_at text not null,
    updated_at text not null
);
create table if not exists kantata_workspaces (
    id integer primary key,
    title text not null,
    status text not null,
    start_date text not null,
    due_date text not null,
    currency text not null,
    created_at text not null,
    updated_at text not null
);
create table if not exists kantata_stories (
    id integer primary key,
    workspace_id integer not null,
    title text not null,
    story_type text not null,
    state text not null,
    start_date text not null,
    due_date text not null,
    budget_estimate_in_cents integer,
    created_at text not null,
    updated_at text not null
);
create table if not exists kantata_assignments (
    id integer primary key,
    story_id integer not null,
    workspace_id integer not null,
    assignee_id integer not null,
    created_at text not null,
    updated_at text not null
);

-- ERP (NetSuite): the SuiteQL tables `transaction` and `transactionline`
create table if not exists netsuite_transaction (
    id integer primary key,
    tranid text not null,
    type text not null,
    externalid text unique,
    entity integer not null,
    trandate text not null,
    currency text not null,
    status text not null,
    memo text,
    custbody_project_code text,
    foreigntotal text not null,
    createddate text not null,
    lastmodifieddate text not null
);
create table if not exists netsuite_transactionline (
    uniquekey integer primary key,
    "transaction" integer not null references netsuite_transaction(id),
    linesequencenumber integer not null,
    item text not null,
    memo text,
    quantity text not null,
    rate text not null,
    foreignamount text not null,
    custcol_time_entry_id integer,
    linelastmodifieddate text not null
);

create index if not exists harvest_time_entries_spent on harvest_time_entries (spent_date);
create index if not exists harvest_time_entries_updated on harvest_time_entries (updated_at);
create index if not exists netsuite_transactionline_tx on netsuite_transactionline ("transaction");
create index if not exists netsuite_transactionline_entry
    on netsuite_transactionline (custcol_time_entry_id);
create index if not exists harvest_time_entries_project
    on harvest_time_entries (project_code, spent_date);

create table if not exists netsuite_idempotency (
    key text primary key,
    request_hash text not null,
    record_id integer not null,
    created text not null
);

-- Ground truth: defects injected by the generator. Never read by the pipeline.
create table if not exists sandbox_truth (
    kind text not null,
    system text not null,
    record_id text not null,
    amount text,
    currency text,
    detail text
);
"""


class SandboxStore:
    def __init__(self, path: Path):
        self.path = Path(path)

    def exists(self) -> bool:
        return self.path.exists()

    def create(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.connect() as conn:
            conn.execute("pragma journal_mode=wal")
            conn.executescript(SCHEMA)

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("pragma synchronous = normal")  # with WAL: durable at checkpoints, fast
        try:
            yield conn
        finally:
            conn.close()

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: a count and the page it describes see the same firm."""
        with self.connect() as conn:
            conn.execute("begin")
            try:
                yield conn
            finally:
                conn.execute("commit")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """An immediate write transaction: concurrent writers queue instead of interleaving."""
        with self.connect() as conn:
            conn.execute("begin immediate")
            try:
                yield conn
            except BaseException:
                conn.execute("rollback")
                raise
            conn.execute("commit")

    def truth(self) -> list[dict]:
        with self.connect() as conn:
            rows = conn.execute("select * from sandbox_truth order by kind, record_id").fetchall()
        return [dict(row) for row in rows]

    def meta(self, key: str) -> str | None:
        with self.connect() as conn:
            row = conn.execute("select value from firm_meta where key = ?", (key,)).fetchone()
        return row["value"] if row else None
