"""NetSuite REST dialect: SuiteQL reads and invoice upserts by external id.

Reads: `POST /services/rest/query/v1/suiteql?limit=&offset=` with `{"q": ...}` and the header
`Prefer: transient`; the answer carries `items`, `hasMore`, `totalResults` and a `next` link.
Values come back as strings and null fields are left out, as SuiteQL does.

Writes, for invoices and credit memos:
- `PUT /services/rest/record/v1/{type}/eid:{externalId}` creates or replaces the record with that
  external id: the natural idempotent write. A body equal to what is stored changes nothing
  (not even the last-modified date), so a retried write is harmless.
- `POST /services/rest/record/v1/{type}` creates one; with `X-NetSuite-Idempotency-Key`, the same
  key and body give the same record however often or concurrently they are sent, and the key
  with another body is refused (409).
Writes persist in the store and are visible to SuiteQL, as real records would be.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from psa_pipeline.money import money_text, quantity_text, to_cents
from psa_pipeline.sandbox.auth import require_bearer
from psa_pipeline.sandbox.store import CLIENT_LINE_KEYS, CLIENT_TRANSACTION_IDS
from psa_pipeline.sandbox.suiteql import SuiteQLError, compile_query

MAX_LIMIT = 1000
MAX_RESULTS = 100_000  # a SuiteQL query returns at most this many rows, however it is paged

router = APIRouter(prefix="/netsuite/services/rest", dependencies=[Depends(require_bearer)])


TITLES = {400: "Bad Request", 404: "Not Found", 409: "Conflict"}


def netsuite_error(status: int, detail: str, code: str) -> JSONResponse:
    return JSONResponse(
        status_code=status,
        content={
            "type": "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.1",
            "title": TITLES[status],
            "status": status,
            "o:errorDetails": [{"detail": detail, "o:errorCode": code}],
        },
    )


class SuiteQLBody(BaseModel):
    q: str = Field(min_length=1, max_length=100_000)


@router.post("/query/v1/suiteql")
def suiteql(
    request: Request,
    body: SuiteQLBody,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = MAX_LIMIT,
    offset: Annotated[int, Query(ge=0, le=MAX_RESULTS)] = 0,
    prefer: Annotated[str | None, Header()] = None,
):
    if (prefer or "").lower() != "transient":
        return netsuite_error(
            400, "SuiteQL requests need the header 'Prefer: transient'", "INVALID_HEADER"
        )
    if offset + limit > MAX_RESULTS:
        return netsuite_error(
            400,
            f"SuiteQL returns at most {MAX_RESULTS:,} results per query (offset {offset} + limit "
            f"{limit}); narrow the query, for example to a window of dates",
            "INVALID_PARAMETER",
        )
    with request.app.state.store.snapshot() as conn:
        try:
            query = compile_query(body.q, conn)
        except SuiteQLError as error:
            return netsuite_error(400, str(error), "INVALID_PARAMETER")
        total = conn.execute(query.count_sql, query.params).fetchone()[0]
        rows = conn.execute(query.sql, (*query.params, limit, offset)).fetchall()
    items = [
        {"links": []} | {key: str(row[key]) for key in row.keys() if row[key] is not None}
        for row in rows
    ]
    has_more = offset + len(items) < total
    links = [{"rel": "self", "href": str(request.url)}]
    if has_more:
        next_url = request.url.include_query_params(limit=limit, offset=offset + limit)
        links.append({"rel": "next", "href": str(next_url)})
    return {
        "links": links,
        "count": len(items),
        "hasMore": has_more,
        "offset": offset,
        "totalResults": total,
        "items": items,
    }


class Ref(BaseModel):
    id: str | None = None
    refName: str | None = None


class InvoiceLine(BaseModel):
    item: Ref
    description: str | None = Field(default=None, max_length=4000)
    quantity: Decimal
    rate: Decimal
    amount: Decimal
    custcol_time_entry_id: int | None = None


class InvoiceLines(BaseModel):
    items: list[InvoiceLine] = Field(min_length=1, max_length=10_000)


class InvoiceRecord(BaseModel):
    entity: Ref
    tranDate: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    currency: Ref
    memo: str | None = Field(default=None, max_length=4000)
    custbody_project_code: str | None = None
    item: InvoiceLines


def _check_lines(record: InvoiceRecord) -> str | None:
    for n, line in enumerate(record.item.items, start=1):
        try:
            if to_cents(line.quantity * line.rate) != to_cents(line.amount):
                return f"line {n}: amount {line.amount} is not quantity x rate"
        except InvalidOperation:
            return f"line {n}: quantity, rate and amount must be numbers"
    if not (record.entity.id or "").isdigit():
        return "entity.id must be the internal id of a customer"
    if not record.currency.refName:
        return "currency.refName is required"
    return None


# the record types this ERP takes writes for: REST name -> (SuiteQL type, draft number prefix)
RECORD_TYPES = {"invoice": ("CustInvc", "DRAFT"), "creditMemo": ("CustCred", "CM")}
RecordType = Literal["invoice", "creditMemo"]


def _content(record: InvoiceRecord) -> tuple[dict, list[dict]]:
    """The record as stored: header columns and lines, amounts to the cent."""
    total = sum((to_cents(line.amount) for line in record.item.items), Decimal(0))
    header = {
        "entity": int(record.entity.id),
        "trandate": record.tranDate,
        "currency": record.currency.refName,
        "memo": record.memo,
        "custbody_project_code": record.custbody_project_code,
        "foreigntotal": money_text(total),
    }
    lines = [
        {
            "item": line.item.refName or line.item.id or "",
            "memo": line.description,
            "quantity": quantity_text(line.quantity),
            "rate": money_text(line.rate),
            "foreignamount": money_text(line.amount),
            "custcol_time_entry_id": line.custcol_time_entry_id,
        }
        for line in record.item.items
    ]
    return header, lines


def _created(request: Request, record_type: str, record_id: int) -> Response:
    location = f"{request.base_url}netsuite/services/rest/record/v1/{record_type}/{record_id}"
    return Response(status_code=204, headers={"Location": location})


@router.put("/record/v1/{record_type}/eid:{external_id}", status_code=204)
def upsert_record(
    request: Request,
    record_type: RecordType,
    external_id: Annotated[str, Path(min_length=1, max_length=200)],
    record: Annotated[InvoiceRecord, Body()],
):
    """Create or replace the record with this external id: the idempotent write."""
    if problem := _check_lines(record):
        return netsuite_error(400, problem, "INVALID_FIELD_VALUE")
    header, lines = _content(record)
    type_code = RECORD_TYPES[record_type][0]
    with request.app.state.store.transaction() as conn:
        existing = conn.execute(
            "select * from netsuite_transaction where externalid = ? and type = ?",
            (external_id, type_code),
        ).fetchone()
        if existing is not None and _unchanged(conn, existing, header, lines):
            record_id = existing["id"]
        else:
            record_id = _write_record(
                conn, record_type, existing, external_id, header, lines, request.app.state.clock()
            )
    return _created(request, record_type, record_id)


@router.post("/record/v1/{record_type}", status_code=204)
def create_record(
    request: Request,
    record_type: RecordType,
    record: Annotated[InvoiceRecord, Body()],
    idempotency_key: Annotated[
        str | None, Header(alias="X-NetSuite-Idempotency-Key", min_length=1, max_length=128)
    ] = None,
):
    """Create a record. With an idempotency key, the same key and body give the same record
    however often (or however concurrently) they are sent; the key with another body is refused.
    """
    if problem := _check_lines(record):
        return netsuite_error(400, problem, "INVALID_FIELD_VALUE")
    header, lines = _content(record)
    fingerprint = hashlib.sha256(
        json.dumps([record_type, header, lines], sort_keys=True).encode()
    ).hexdigest()
    with request.app.state.store.transaction() as conn:  # immediate: one writer at a time
        earlier = (
            conn.execute(
                "select request_hash, record_id from netsuite_idempotency where key = ?",
                (idempotency_key,),
            ).fetchone()
            if idempotency_key
            else None
        )
        if earlier is not None and earlier["request_hash"] != fingerprint:
            return netsuite_error(
                409,
                "The idempotency key was already used with a different request",
                "DUPLICATE_IDEMPOTENCY_KEY",
            )
        if earlier is not None:
            return _created(request, record_type, earlier["record_id"])
        record_id = _write_record(
            conn, record_type, None, None, header, lines, request.app.state.clock()
        )
        if idempotency_key:
            conn.execute(
                "insert into netsuite_idempotency values (?, ?, ?, ?)",
                (idempotency_key, fingerprint, record_id, request.app.state.clock()),
            )
    return _created(request, record_type, record_id)


def _unchanged(conn, existing, header: dict, lines: list[dict]) -> bool:
    if any(existing[k] != v for k, v in header.items()):
        return False
    stored = conn.execute(
        "select item, memo, quantity, rate, foreignamount, custcol_time_entry_id "
        'from netsuite_transactionline where "transaction" = ? order by linesequencenumber',
        (existing["id"],),
    ).fetchall()
    return [dict(row) for row in stored] == lines


def _write_record(
    conn,
    record_type: str,
    existing,
    external_id: str | None,
    header: dict,
    lines: list[dict],
    now: str,
) -> int:
    """Create or replace the record and its lines; the internal id never changes."""
    type_code, prefix = RECORD_TYPES[record_type]
    if existing is None:
        record_id = conn.execute(
            "select coalesce(max(id), ?) + 1 from netsuite_transaction where id > ?",
            (CLIENT_TRANSACTION_IDS, CLIENT_TRANSACTION_IDS),
        ).fetchone()[0]
    else:
        record_id = existing["id"]
    columns = {
        "id": record_id,
        "tranid": f"{prefix}{record_id}",
        "type": type_code,
        "externalid": external_id,
        "status": "pendingApproval",
        **header,
        "createddate": now,
        "lastmodifieddate": now,
    }
    # an update replaces the content; identity, creation and approval state stay as they were
    kept_on_update = ("id", "tranid", "createddate", "status")
    replaced_on_update = [c for c in columns if c not in kept_on_update]
    conn.execute(
        f"insert into netsuite_transaction ({', '.join(columns)}) "
        f"values ({', '.join('?' for _ in columns)}) on conflict (id) do update set "
        + ", ".join(f"{c} = excluded.{c}" for c in replaced_on_update),
        tuple(columns.values()),
    )
    conn.execute('delete from netsuite_transactionline where "transaction" = ?', (record_id,))
    next_key = conn.execute(
        "select coalesce(max(uniquekey), ?) + 1 from netsuite_transactionline where uniquekey > ?",
        (CLIENT_LINE_KEYS, CLIENT_LINE_KEYS),
    ).fetchone()[0]
    conn.executemany(
        'insert into netsuite_transactionline (uniquekey, "transaction", linesequencenumber, '
        "item, memo, quantity, rate, foreignamount, custcol_time_entry_id, linelastmodifieddate) "
        "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                next_key + n,
                record_id,
                n + 1,
                line["item"],
                line["memo"],
                line["quantity"],
                line["rate"],
                line["foreignamount"],
                line["custcol_time_entry_id"],
                now,
            )
            for n, line in enumerate(lines)
        ],
    )
    return record_id


@router.get("/record/v1/{record_type}/eid:{external_id}")
def read_record(
    request: Request,
    record_type: RecordType,
    external_id: Annotated[str, Path(min_length=1, max_length=200)],
):
    with request.app.state.store.connect() as conn:
        invoice = conn.execute(
            "select * from netsuite_transaction where externalid = ? and type = ?",
            (external_id, RECORD_TYPES[record_type][0]),
        ).fetchone()
        if invoice is None:
            return netsuite_error(
                404, f"No {record_type} with external id {external_id!r}", "NONEXISTENT_ID"
            )
        lines = conn.execute(
            'select * from netsuite_transactionline where "transaction" = ? '
            "order by linesequencenumber",
            (invoice["id"],),
        ).fetchall()
    return {
        "id": str(invoice["id"]),
        "externalId": invoice["externalid"],
        "tranId": invoice["tranid"],
        "status": {"id": invoice["status"]},
        "entity": {"id": str(invoice["entity"])},
        "tranDate": invoice["trandate"],
        "currency": {"refName": invoice["currency"]},
        "memo": invoice["memo"],
        "custbody_project_code": invoice["custbody_project_code"],
        "total": invoice["foreigntotal"],
        "lastModifiedDate": invoice["lastmodifieddate"],
        "item": {
            "items": [
                {
                    "line": line["linesequencenumber"],
                    "item": {"refName": line["item"]},
                    "description": line["memo"],
                    "quantity": line["quantity"],
                    "rate": line["rate"],
                    "amount": line["foreignamount"],
                    "custcol_time_entry_id": line["custcol_time_entry_id"],
                }
                for line in lines
            ]
        },
    }
