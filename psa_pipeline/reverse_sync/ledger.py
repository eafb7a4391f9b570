"""The sync's memory, kept in the warehouse: an outbox of ERP writes and a per-correction ledger.

Write-ahead: an ERP record (a draft invoice or a credit memo) is recorded as `pending`, with the
exact record to send and a correlation id, before the ERP is called, and each correction is
tied to that record's external id in the same transaction. The correlation id goes with every
attempt to write the record (the `X-Correlation-ID` header), so a leakage item can be followed
from its correction, through the ledger, to the ERP's request log and record, and back. An entry still `pending` when a later sync starts (the earlier one crashed, or the
ERP was unavailable) is first looked up in the ERP by external id: found, it was written and is
settled as `pushed`; not found, it is `superseded` and its corrections are planned again from
the current corrections, so what is sent is never stale. External ids are derived from the
corrections carried, so a correction planned again lands on the same record. Either way a
correction reaches the ERP once.

Statuses: pending, pushed, superseded, dead_letter (the ERP refused it; kept with the reason).
Every outcome is also a row of reverse_sync.erp_sync_attempts (when, what, why, with the
correlation id), so the history of a write survives its entry's later states. A dead letter is
replayed (`replay`, `psa-pipeline sync replay`) once its cause is fixed: its corrections are
released and the next sync plans and sends them afresh.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

from psa_pipeline.reverse_sync.plan import ErpRecord

PENDING, PUSHED, SUPERSEDED, DEAD_LETTER = "pending", "pushed", "superseded", "dead_letter"

DDL = """
create schema if not exists reverse_sync;
create table if not exists reverse_sync.erp_sync_outbox (
    external_id varchar primary key,
    record_type varchar not null,
    record_json varchar not null,
    payload_hash varchar not null,
    status varchar not null,
    attempts integer not null,
    last_error varchar,
    created_at timestamptz not null,
    updated_at timestamptz not null
);
create table if not exists reverse_sync.erp_sync_ledger (
    correction_id varchar primary key,
    external_id varchar not null,
    recorded_at timestamptz not null
);
alter table reverse_sync.erp_sync_outbox add column if not exists correlation_id varchar;
create table if not exists reverse_sync.erp_sync_attempts (
    external_id varchar not null,
    attempted_at timestamptz not null,
    outcome varchar not null,
    reason varchar,
    correlation_id varchar
);
create table if not exists reverse_sync.erp_sync_approvals (
    correction_id varchar primary key,
    correction_version varchar not null,
    approved_by varchar not null,
    approved_at timestamptz not null,
    note varchar
);
"""


@dataclass(frozen=True)
class OutboxEntry:
    external_id: str
    record_type: str
    record: dict
    correlation_id: str


def now() -> datetime:
    return datetime.now(UTC)


def ensure_tables(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(DDL)


def exists(conn, table: str = "erp_sync_ledger") -> bool:
    """Whether the sync has made this table yet (a read-only caller must not create it)."""
    (found,) = conn.execute(
        "select count(*) from information_schema.tables "
        f"where table_schema = 'reverse_sync' and table_name = '{table}'"
    ).fetchone()
    return found > 0


def enqueue(conn: duckdb.DuckDBPyConnection, records: list[ErpRecord]) -> None:
    """Record ERP records as pending, and tie their corrections to them, in one transaction.
    A record planned again (its earlier write never arrived) keeps its correlation id."""
    stamp = now()
    conn.execute("begin transaction")
    try:
        for planned in records:
            conn.execute(
                "insert into reverse_sync.erp_sync_outbox (external_id, record_type, record_json, "
                "payload_hash, status, attempts, last_error, created_at, updated_at, "
                "correlation_id) values (?, ?, ?, ?, ?, 0, null, ?, ?, ?) "
                "on conflict (external_id) do update set record_json = excluded.record_json, "
                "payload_hash = excluded.payload_hash, status = excluded.status, "
                "updated_at = excluded.updated_at",
                [
                    planned.external_id,
                    planned.record_type,
                    json.dumps(planned.record, sort_keys=True),
                    planned.payload_hash,
                    PENDING,
                    stamp,
                    stamp,
                    str(uuid.uuid4()),
                ],
            )
            conn.executemany(
                "insert into reverse_sync.erp_sync_ledger values (?, ?, ?)",
                [[cid, planned.external_id, stamp] for cid in planned.correction_ids],
            )
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise


def pending(conn: duckdb.DuckDBPyConnection) -> list[OutboxEntry]:
    rows = conn.execute(
        "select external_id, record_type, record_json, "
        "coalesce(correlation_id, external_id) from reverse_sync.erp_sync_outbox "
        "where status = ? order by created_at, external_id",
        [PENDING],
    ).fetchall()
    return [
        OutboxEntry(external_id, record_type, json.loads(record), correlation_id)
        for external_id, record_type, record, correlation_id in rows
    ]


def settle(
    conn: duckdb.DuckDBPyConnection, external_id: str, status: str, error: str | None
) -> None:
    """The outcome of a write (or of asking the ERP about one): the entry's state, and a row
    in the attempts history, which keeps every outcome with its reason."""
    stamp = now()
    conn.execute(
        "update reverse_sync.erp_sync_outbox set status = ?, attempts = attempts + 1, "
        "last_error = ?, updated_at = ? where external_id = ?",
        [status, error, stamp, external_id],
    )
    record_attempt(conn, external_id, status, error, stamp)


def record_attempt(
    conn: duckdb.DuckDBPyConnection,
    external_id: str,
    outcome: str,
    reason: str | None,
    stamp: datetime | None = None,
) -> None:
    conn.execute(
        "insert into reverse_sync.erp_sync_attempts select ?, ?, ?, ?, correlation_id "
        "from reverse_sync.erp_sync_outbox where external_id = ?",
        [external_id, stamp or now(), outcome, reason, external_id],
    )


def supersede(conn: duckdb.DuckDBPyConnection, external_id: str, reason: str) -> None:
    """Never reached the ERP: release its corrections to be planned again."""
    conn.execute("begin transaction")
    conn.execute("delete from reverse_sync.erp_sync_ledger where external_id = ?", [external_id])
    settle(conn, external_id, SUPERSEDED, reason)
    conn.execute("commit")


def dead_letters(conn: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """external id -> the corrections it carries, for every write the ERP refused."""
    rows = conn.execute(
        "select o.external_id, l.correction_id from reverse_sync.erp_sync_outbox o "
        "join reverse_sync.erp_sync_ledger l using (external_id) where o.status = ? "
        "order by 1, 2",
        [DEAD_LETTER],
    ).fetchall()
    found: dict[str, list[str]] = {}
    for external_id, correction_id in rows:
        found.setdefault(external_id, []).append(correction_id)
    return found


def replay(conn: duckdb.DuckDBPyConnection, ids: list[str], requested_by: str) -> list[str]:
    """Release dead letters (by external id or by a correction they carry; all of them when
    `ids` is empty) for the next sync to plan afresh from today's corrections and send. The ERP
    refused them, so none of it is there: nothing can be sent twice. Unknown ids: ValueError,
    and nothing is released."""
    if not requested_by.strip():
        raise ValueError("a replay needs the name of who asks for it")
    letters = dead_letters(conn) if exists(conn) else {}
    by_correction = {cid: eid for eid, cids in letters.items() for cid in cids}
    chosen = dict.fromkeys(
        letters if not ids else [i if i in letters else by_correction.get(i) for i in ids]
    )
    unknown = [i for i in ids if i not in letters and i not in by_correction]
    if unknown:
        raise ValueError(f"not a dead letter: {', '.join(unknown)}")
    for external_id in chosen:
        supersede(conn, external_id, f"replay requested by {requested_by.strip()}")
    return list(chosen)


def status_counts(conn: duckdb.DuckDBPyConnection) -> dict[str, int]:
    rows = conn.execute(
        "select status, count(*) from reverse_sync.erp_sync_outbox group by status order by status"
    ).fetchall()
    return {status: count for status, count in rows}
