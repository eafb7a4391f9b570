"""The sync's memory, kept in the warehouse: an outbox of ERP writes and a per-correction ledger.

Write-ahead: a draft invoice is recorded as `pending`, with the exact record to send, before the
ERP is called, and each correction is tied to that invoice's external id in the same
transaction. A crash between the ERP committing and the ledger saying so leaves the invoice
`pending`; the next sync sends the same record to the same external id, which the ERP treats as
an upsert of what it already has. So a correction reaches the ERP once, however often syncs
crash or repeat.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

from psa_pipeline.reverse_sync.plan import DraftInvoice

PENDING, PUSHED, DEAD_LETTER = "pending", "pushed", "dead_letter"

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
    stamp = now()
    conn.execute("begin transaction")
    try:
        for draft in drafts:
            conn.execute(
                "insert into reverse_sync.erp_sync_outbox values (?, 'invoice', ?, ?, ?, 0, null, ?, ?)",
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


def status_counts(conn: duckdb.DuckDBPyConnection) -> dict[str, int]:
    rows = conn.execute(
        "select status, count(*) from reverse_sync.erp_sync_outbox group by status"
    ).fetchall()
    return {status: count for status, count in rows}
