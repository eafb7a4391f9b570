"""The sync's memory, kept in the warehouse: an outbox of ERP writes and a per-correction ledger.

Write-ahead: a draft invoice is recorded as `pending`, with the exact record to send, before the
ERP is called, and each correction is tied to that invoice's external id in the same
transaction. An entry still `pending` when a later sync starts (the earlier one crashed, or the
ERP was unavailable) is first looked up in the ERP by external id: found, it was written and is
settled as `pushed`; not found, it is `superseded` and its corrections are planned again from
the current corrections, so what is sent is never stale. External ids are derived from the
corrections carried, so a correction planned again lands on the same record. Either way a
correction reaches the ERP once.

Statuses: pending, pushed, superseded, dead_letter (the ERP refused it; kept with the reason).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

from psa_pipeline.reverse_sync.plan import DraftInvoice

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
"""


@dataclass(frozen=True)
class OutboxEntry:
    external_id: str
    record: dict


def now() -> datetime:
    return datetime.now(UTC)


def ensure_tables(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(DDL)


def enqueue(conn: duckdb.DuckDBPyConnection, drafts: list[DraftInvoice]) -> None:
    """Record drafts as pending, and tie their corrections to them, in one transaction."""
    stamp = now()
    conn.execute("begin transaction")
    try:
        for draft in drafts:
            conn.execute(
                "insert into reverse_sync.erp_sync_outbox values (?, 'invoice', ?, ?, ?, 0, null, ?, ?) "
                "on conflict (external_id) do update set record_json = excluded.record_json, "
                "payload_hash = excluded.payload_hash, status = excluded.status, "
                "updated_at = excluded.updated_at",
                [
                    draft.external_id,
                    json.dumps(draft.record, sort_keys=True),
                    draft.payload_hash,
                    PENDING,
                    stamp,
                    stamp,
                ],
            )
            conn.executemany(
                "insert into reverse_sync.erp_sync_ledger values (?, ?, ?)",
                [[cid, draft.external_id, stamp] for cid in draft.correction_ids],
            )
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise


def pending(conn: duckdb.DuckDBPyConnection) -> list[OutboxEntry]:
    rows = conn.execute(
        "select external_id, record_json from reverse_sync.erp_sync_outbox "
        "where status = ? order by created_at, external_id",
        [PENDING],
    ).fetchall()
    return [OutboxEntry(external_id, json.loads(record)) for external_id, record in rows]


def settle(
    conn: duckdb.DuckDBPyConnection, external_id: str, status: str, error: str | None
) -> None:
    conn.execute(
        "update reverse_sync.erp_sync_outbox set status = ?, attempts = attempts + 1, "
        "last_error = ?, updated_at = ? where external_id = ?",
        [status, error, now(), external_id],
    )


def supersede(conn: duckdb.DuckDBPyConnection, external_id: str) -> None:
    """Never reached the ERP: release its corrections to be planned again."""
    conn.execute("begin transaction")
    conn.execute("delete from reverse_sync.erp_sync_ledger where external_id = ?", [external_id])
    settle(conn, external_id, SUPERSEDED, "not found in the ERP; corrections planned again")
    conn.execute("commit")


def status_counts(conn: duckdb.DuckDBPyConnection) -> dict[str, int]:
    rows = conn.execute(
        "select status, count(*) from reverse_sync.erp_sync_outbox group by status order by status"
    ).fetchall()
    return {status: count for status, count in rows}
