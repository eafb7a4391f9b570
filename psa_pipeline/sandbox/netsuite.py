"""NetSuite REST dialect: SuiteQL reads and invoice upserts by external id.

Reads: `POST /services/rest/query/v1/suiteql?limit=&offset=` with `{"q": ...}` and the header
`Prefer: transient`; the answer carries `items`, `hasMore`, `totalResults` and a `next` link.
Values come back as strings and null fields are left out, as SuiteQL does.

Writes: `PUT /services/rest/record/v1/invoice/eid:{externalId}` creates or replaces the invoice
with that external id: the natural idempotent write. A body equal to what is stored changes
nothing (not even the last-modified date), so a retried write is harmless. Writes persist in the
store and are visible to SuiteQL, as a real invoice would be.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from psa_pipeline.money import money_text, quantity_text, to_cents
from psa_pipeline.sandbox.auth import require_bearer
from psa_pipeline.sandbox.suiteql import SuiteQLError, compile_query

MAX_LIMIT = 1000
MAX_RESULTS = 100_000  # a SuiteQL query returns at most this many rows, however it is paged

router = APIRouter(prefix="/netsuite/services/rest", dependencies=[Depends(require_bearer)])


def netsuite_error(status: int, detail: str, code: str) -> JSONResponse:
    return JSONResponse(
        status_code=status,
        content={
            "type": "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.1",
            "title": "Bad Request" if status == 400 else "Not Found",
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


@router.put("/record/v1/invoice/eid:{external_id}", status_code=204)
def upsert_invoice(request: Request, external_id: str, record: Annotated[InvoiceRecord, Body()]):
    if problem := _check_lines(record):
        return netsuite_error(400, problem, "INVALID_FIELD_VALUE")
    store = request.app.state.store
    now = request.app.state.clock()
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
    with store.transaction() as conn:
        existing = conn.execute(
            "select * from netsuite_transaction where externalid = ? and type = 'CustInvc'",
            (external_id,),
        ).fetchone()
        if existing is not None and _unchanged(conn, existing, header, lines):
            invoice_id = existing["id"]
        else:
            invoice_id = _write_invoice(conn, existing, external_id, header, lines, now)
    location = f"{request.base_url}netsuite/services/rest/record/v1/invoice/{invoice_id}"
    return Response(status_code=204, headers={"Location": location})


def _unchanged(conn, existing, header: dict, lines: list[dict]) -> bool:
    if any(existing[k] != v for k, v in header.items()):
        return False
    stored = conn.execute(
        "select item, memo, quantity, rate, foreignamount, custcol_time_entry_id "
        'from netsuite_transactionline where "transaction" = ? order by linesequencenumber',
        (existing["id"],),
    ).fetchall()
    return [dict(row) for row in stored] == lines


def _write_invoice(
    conn, existing, external_id: str, header: dict, lines: list[dict], now: str
) -> int:
    """Create or replace the invoice and its lines; the internal id never changes."""
    if existing is None:
        invoice_id = conn.execute(
            "select coalesce(max(id), 0) + 1 from netsuite_transaction"
        ).fetchone()[0]
    else:
        invoice_id = existing["id"]
    columns = {
        "id": invoice_id,
        "tranid": f"DRAFT{invoice_id}",
        "type": "CustInvc",
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
    conn.execute('delete from netsuite_transactionline where "transaction" = ?', (invoice_id,))
    next_key = conn.execute(
        "select coalesce(max(uniquekey), 0) + 1 from netsuite_transactionline"
    ).fetchone()[0]
    conn.executemany(
        'insert into netsuite_transactionline (uniquekey, "transaction", linesequencenumber, '
        "item, memo, quantity, rate, foreignamount, custcol_time_entry_id, linelastmodifieddate) "
        "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                next_key + n,
                invoice_id,
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
    return invoice_id


@router.get("/record/v1/invoice/eid:{external_id}")
def read_invoice(request: Request, external_id: str):
    with request.app.state.store.connect() as conn:
        invoice = conn.execute(
            "select * from netsuite_transaction where externalid = ? and type = 'CustInvc'",
            (external_id,),
        ).fetchone()
        if invoice is None:
            return netsuite_error(
                404, f"No invoice with external id {external_id!r}", "NONEXISTENT_ID"
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
