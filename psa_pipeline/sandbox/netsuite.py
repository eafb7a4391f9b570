"""NetSuite REST dialect: SuiteQL reads and invoice upserts by external id.

Authentication, as real tenants use it: token-based auth, an OAuth 1.0a signature (HMAC-SHA256,
realm = the account id) over the consumer key and the access token, verified here with oauthlib's
server side (signature, timestamp within 10 minutes, a nonce used once); or an OAuth 2.0 bearer
token. Anything else is answered as NetSuite does: 401 with `INVALID_LOGIN` ("Invalid login
attempt...", as public clients quote it, e.g. airbytehq/airbyte source-netsuite's notes).

Reads: `POST /services/rest/query/v1/suiteql?limit=&offset=` with `{"q": ...}` and the header
`Prefer: transient`; the answer carries `links`, `count`, `hasMore`, `items`, `offset` and
`totalResults` (Oracle's "Executing SuiteQL Queries Through REST Web Services"). Every value is a
string, a null field is left out of its row, each row carries an empty `links` list, dates come
in the account's date format (a knob: `create_app(netsuite_date_format=...)`), and a record the
role may not see is refused as NetSuite refuses it: 400, `Search error occurred: Record 'x' was
not found.` (quoted by PostHog's and LedgerSync's NetSuite clients). See sandbox/suiteql.py.

Writes, for invoices and credit memos:
- `PUT /services/rest/record/v1/{type}/eid:{externalId}` creates or replaces the record with that
  external id: the natural idempotent write. A body equal to what is stored changes nothing
  (not even the last-modified date), so a retried write is harmless.
- `POST /services/rest/record/v1/{type}` creates one; with `X-NetSuite-Idempotency-Key`, the same
  key and body give the same record however often or concurrently they are sent, and the key
  with another body is refused (409).
Writes persist in the store and are visible to SuiteQL, as real records would be.

What a write carries, as NetSuite's REST API Browser (record/v1) defines the records: lines in
the `item` sublist (`{"items": [...]}`) with item, description, quantity, rate and amount, and
this firm's custom line fields `custcol_time_entry_id`, `custcol_expense_id`,
`custcol_milestone_id` (what a line bills: integer ids) and `custcol_psa_correction_id` (text:
the PSA correction a line puts right), custom fields sitting on the line beside the standard
ones as REST records carry them. A credit memo may also carry `createdFrom` (an nsResource,
`{"id": "<invoice internal id>"}`) and the `apply` sublist, `creditMemo-applyCollection`, whose
`creditMemo-applyElement`s name the invoice in `doc` (an nsResource), say `apply` (boolean) and
the `amount` applied (NetSuite REST API Browser, record/v1, definitions `creditMemo`,
`creditMemo-applyCollection` and `creditMemo-applyElement`, as tabulated for 2026.1 in
wsjmnh/netsuite-record-rest-docs docs/schemas/creditMemo.md; the same element is modelled with
amount, apply, doc and line in the in_netsuite Python client's CreditMemoApplyElement). Each
applied invoice becomes a previoustransactionlink row, as the firm's own credit memos are
stored (sandbox/billing.py), and createdFrom is served on the credit memo's main line.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import threading
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256, RequestValidator, SignatureOnlyEndpoint
from oauthlib.oauth1.rfc5849.utils import parse_authorization_header
from pydantic import BaseModel, Field

from psa_pipeline.money import money_text, quantity_text, to_cents
from psa_pipeline.sandbox.auth import lacks
from psa_pipeline.sandbox.store import CLIENT_LINE_KEYS, CLIENT_TRANSACTION_IDS, insert
from psa_pipeline.sandbox.suiteql import SuiteQLError, compile_query, register_functions
from psa_pipeline.settings import SANDBOX_NETSUITE_ACCOUNT_ID, sandbox_tba

MAX_LIMIT = 1000
MAX_RESULTS = 100_000  # a SuiteQL query returns at most this many rows, however it is paged

TITLES = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 409: "Conflict"}
SECTIONS = {400: "15.5.1", 401: "15.5.2", 404: "15.5.5", 409: "15.5.10"}
INVALID_LOGIN = (
    "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at "
    "Setup > Users/Roles > User Management > View Login Audit Trail."
)


def netsuite_error(status: int, detail: str, code: str, **headers: str) -> JSONResponse:
    return JSONResponse(
        status_code=status,
        headers=headers,
        content={
            "type": f"https://www.rfc-editor.org/rfc/rfc9110.html#section-{SECTIONS[status]}",
            "title": TITLES[status],
            "status": status,
            "o:errorDetails": [{"detail": detail, "o:errorCode": code}],
        },
    )


def fault_answer(status: int) -> tuple[bytes, list[tuple[bytes, bytes]]] | None:
    """A refused write (the erp_refuse_write fault) in NetSuite's error shape, with the message
    NetSuite gives a field it will not take ("You have entered an Invalid Field Value <value>
    for the following field: <field>", as quoted from NetSuite in
    creecedev/NetSuite-Tools-For-WebStorm#22; the value is left out here, having no record to
    name). The error code USER_ERROR is our choice: no public source for it was found. Other
    faults keep the generic answer."""
    if status != 400:
        return None
    refusal = netsuite_error(
        400,
        "You have entered an Invalid Field Value for the following field: entity",
        "USER_ERROR",
    )
    return refusal.body, [(b"content-language", b"en")]


class _TokenValidator(RequestValidator):
    """oauthlib's server-side checks for the one integration and token the sandbox knows."""

    enforce_ssl = False  # loopback
    allowed_signature_methods = (SIGNATURE_HMAC_SHA256,)  # NetSuite retired HMAC-SHA1
    client_key_length = access_token_length = (16, 128)
    nonce_length = (6, 64)
    dummy_client = dummy_access_token = "0" * 64

    def __init__(self, tba: dict[str, str]):
        super().__init__()
        self.tba = tba
        self.seen: set[tuple[str, str, str]] = set()
        self.lock = threading.Lock()

    def validate_client_key(self, client_key, request):
        return secrets.compare_digest(client_key, self.tba["consumer_key"])

    def get_client_secret(self, client_key, request):
        return self.tba["consumer_secret"]

    def get_access_token_secret(self, client_key, token, request):
        return self.tba["token_secret"]

    def validate_timestamp_and_nonce(self, client_key, timestamp, nonce, request, **kwargs):
        """A nonce is used once (oauthlib has already refused timestamps 10 minutes off)."""
        with self.lock:
            if (client_key, timestamp, nonce) in self.seen:
                return False
            if len(self.seen) > 100_000:
                self.seen.clear()
            self.seen.add((client_key, timestamp, nonce))
        return True


def _validator(request: Request) -> _TokenValidator:
    state = request.app.state
    if getattr(state, "netsuite_validator", None) is None:
        state.netsuite_validator = _TokenValidator(sandbox_tba(state.token))
    return state.netsuite_validator


def _login_refused(request: Request) -> JSONResponse | None:
    """NetSuite's 401 unless the request logs in: TBA (OAuth 1.0a, HMAC-SHA256, realm = the
    account, the access token's id) or the OAuth 2.0 bearer token. A JSON body is not part of
    an OAuth 1.0a signature, so none is read here."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        if secrets.compare_digest(header[7:].encode(), request.app.state.token.encode()):
            return None
    elif header.lower().startswith("oauth "):
        validator = _validator(request)
        params = dict(parse_authorization_header(header))
        valid, _ = SignatureOnlyEndpoint(validator).validate_request(
            str(request.url), request.method, None, {"Authorization": header}
        )
        if (
            valid
            and params.get("realm") == SANDBOX_NETSUITE_ACCOUNT_ID
            and secrets.compare_digest(params.get("oauth_token", ""), validator.tba["token_id"])
        ):
            return None
    return netsuite_error(
        401,
        INVALID_LOGIN,
        "INVALID_LOGIN",
        **{
            "WWW-Authenticate": f'OAuth realm="{SANDBOX_NETSUITE_ACCOUNT_ID}", error="token_rejected"'
        },
    )


router = APIRouter(prefix="/netsuite/services/rest")


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
    if refused := _login_refused(request):
        return refused
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
    try:
        query = compile_query(body.q, request.app.state.netsuite_date_format)
        hidden = sorted(r for r in query.records if lacks(request, "netsuite", r))
        if hidden:
            raise SuiteQLError(f"Record '{hidden[0]}' was not found.")
        with request.app.state.store.snapshot() as conn:
            register_functions(conn)
            total = conn.execute(query.count_sql).fetchone()[0]
            rows = conn.execute(query.page_sql, (limit, offset)).fetchall()
    except (SuiteQLError, sqlite3.Error) as error:
        return netsuite_error(
            400,
            "Invalid search query. Detailed unprocessed description follows. "
            f"Search error occurred: {error}",
            "INVALID_PARAMETER",
        )
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


# an integer custom field's value: one SQLite stores (a larger one would be a server error)
RecordId = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]


class InvoiceLine(BaseModel):
    item: Ref
    description: str | None = Field(default=None, max_length=4000)
    quantity: Decimal
    rate: Decimal
    amount: Decimal
    custcol_time_entry_id: RecordId | None = None
    custcol_expense_id: RecordId | None = None
    custcol_milestone_id: RecordId | None = None
    custcol_psa_correction_id: str | None = Field(default=None, min_length=1, max_length=200)


# the custom line fields, stored in columns of the same names and read back as written
CUSTOM_LINE_FIELDS = (
    "custcol_time_entry_id",
    "custcol_expense_id",
    "custcol_milestone_id",
    "custcol_psa_correction_id",
)


class InvoiceLines(BaseModel):
    items: list[InvoiceLine] = Field(min_length=1, max_length=10_000)


class ApplyElement(BaseModel):
    """creditMemo-applyElement: the invoice (`doc`), whether the credit is applied to it
    (`apply`; a line left unapplied applies nothing, as in NetSuite) and how much."""

    doc: Ref
    apply: bool = False
    amount: Decimal


class ApplyCollection(BaseModel):
    items: list[ApplyElement] = Field(max_length=1000)


class InvoiceRecord(BaseModel):
    entity: Ref
    tranDate: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    currency: Ref
    memo: str | None = Field(default=None, max_length=4000)
    custbody_project_code: str | None = None
    item: InvoiceLines
    createdFrom: Ref | None = None  # credit memos only: the invoice credited
    apply: ApplyCollection | None = None  # credit memos only: the invoices the credit pays


def _check_lines(record_type: str, record: InvoiceRecord) -> str | None:
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
    return _check_apply(record_type, record)


def _check_apply(record_type: str, record: InvoiceRecord) -> str | None:
    """What can be told from the body alone about createdFrom and the apply sublist; whether
    the invoices exist and belong to the customer is `_check_applied`, against the store."""
    if record_type != "creditMemo":
        if record.createdFrom is not None or record.apply is not None:
            return f"createdFrom and apply are credit memo fields, not {record_type} fields"
        return None
    if record.createdFrom is not None and not (record.createdFrom.id or "").isdigit():
        return "createdFrom.id must be the internal id of an invoice"
    applied = [element for element in (record.apply.items if record.apply else []) if element.apply]
    docs = [element.doc.id or "" for element in applied]
    if not all(doc.isdigit() for doc in docs):
        return "apply: each doc.id must be the internal id of an invoice"
    if len(set(docs)) < len(docs):
        return "apply: an invoice is applied to more than once"
    try:
        amounts = [to_cents(element.amount) for element in applied]
        total = sum((to_cents(line.amount) for line in record.item.items), Decimal(0))
    except InvalidOperation:
        return "apply: each amount must be a number"
    if any(amount <= 0 for amount in amounts):
        return "apply: each amount applied must be more than zero"
    if sum(amounts, Decimal(0)) > total:
        return (
            f"apply: the amounts applied ({money_text(sum(amounts, Decimal(0)))}) are more than "
            f"the credit memo's total ({money_text(total)})"
        )
    return None


def _check_applied(conn, header: dict, links: list[dict]) -> str | None:
    """Every invoice a credit memo names (createdFrom, apply) is an invoice of its customer, in
    its currency, as NetSuite only offers those to apply a credit to."""
    named = [("createdFrom", header["createdfrom"])] if header["createdfrom"] else []
    named += [("apply", link["previousdoc"]) for link in links]
    for field, invoice_id in named:
        invoice = conn.execute(
            "select type, entity, currency from netsuite_transaction where id = ?", (invoice_id,)
        ).fetchone()
        if invoice is None or invoice["type"] != "CustInvc":
            return f"Invalid Field Value {invoice_id} for {field}: no invoice with that internal id"
        if invoice["entity"] != header["entity"] or invoice["currency"] != header["currency"]:
            return (
                f"Invalid Field Value {invoice_id} for {field}: the invoice is not one of customer "
                f"{header['entity']} in {header['currency']}"
            )
    return None


# the record types this ERP takes writes for: REST name -> (SuiteQL type, draft number prefix)
RECORD_TYPES = {"invoice": ("CustInvc", "DRAFT"), "creditMemo": ("CustCred", "CM")}
RecordType = Literal["invoice", "creditMemo"]


def _content(record: InvoiceRecord) -> tuple[dict, list[dict], list[dict]]:
    """The record as stored: header columns, lines, and the invoices a credit memo is applied
    to (previousdoc and amount, in the order sent), amounts to the cent."""
    total = sum((to_cents(line.amount) for line in record.item.items), Decimal(0))
    header = {
        "entity": int(record.entity.id),
        "trandate": record.tranDate,
        "currency": record.currency.refName,
        "memo": record.memo,
        "custbody_project_code": record.custbody_project_code,
        "createdfrom": int(record.createdFrom.id) if record.createdFrom else None,
        "foreigntotal": money_text(total),
    }
    lines = [
        {
            "item": line.item.refName or line.item.id or "",
            "memo": line.description,
            "quantity": quantity_text(line.quantity),
            "rate": money_text(line.rate),
            "foreignamount": money_text(line.amount),
        }
        | {field: getattr(line, field) for field in CUSTOM_LINE_FIELDS}
        for line in record.item.items
    ]
    links = [
        {"previousdoc": int(element.doc.id), "foreignamount": money_text(element.amount)}
        for element in (record.apply.items if record.apply else [])
        if element.apply
    ]
    return header, lines, links


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
    if refused := _login_refused(request):
        return refused
    if problem := _check_lines(record_type, record):
        return netsuite_error(400, problem, "INVALID_FIELD_VALUE")
    header, lines, links = _content(record)
    type_code = RECORD_TYPES[record_type][0]
    with request.app.state.store.transaction() as conn:
        if problem := _check_applied(conn, header, links):
            return netsuite_error(400, problem, "INVALID_FIELD_VALUE")
        existing = conn.execute(
            "select * from netsuite_transaction where externalid = ? and type = ?",
            (external_id, type_code),
        ).fetchone()
        if existing is not None and _unchanged(conn, existing, header, lines, links):
            record_id = existing["id"]
        else:
            record_id = _write_record(
                conn,
                record_type,
                existing,
                external_id,
                (header, lines, links),
                request.app.state.clock(),
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
    if refused := _login_refused(request):
        return refused
    if problem := _check_lines(record_type, record):
        return netsuite_error(400, problem, "INVALID_FIELD_VALUE")
    header, lines, links = _content(record)
    fingerprint = hashlib.sha256(
        json.dumps([record_type, header, lines, links], sort_keys=True).encode()
    ).hexdigest()
    with request.app.state.store.transaction() as conn:  # immediate: one writer at a time
        if problem := _check_applied(conn, header, links):
            return netsuite_error(400, problem, "INVALID_FIELD_VALUE")
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
            conn, record_type, None, None, (header, lines, links), request.app.state.clock()
        )
        if idempotency_key:
            conn.execute(
                "insert into netsuite_idempotency values (?, ?, ?, ?)",
                (idempotency_key, fingerprint, record_id, request.app.state.clock()),
            )
    return _created(request, record_type, record_id)


def _unchanged(conn, existing, header: dict, lines: list[dict], links: list[dict]) -> bool:
    """The stored record is what the body says: header, lines (custom fields included) and the
    invoices it is applied to."""
    if any(existing[k] != v for k, v in header.items()):
        return False
    stored = conn.execute(
        f"select item, memo, quantity, rate, foreignamount, {', '.join(CUSTOM_LINE_FIELDS)} "
        'from netsuite_transactionline where "transaction" = ? order by linesequencenumber',
        (existing["id"],),
    ).fetchall()
    applied = conn.execute(
        "select previousdoc, foreignamount from netsuite_previoustransactionlink "
        "where nextdoc = ? order by previousdoc",
        (existing["id"],),
    ).fetchall()
    by_invoice = sorted(links, key=lambda link: link["previousdoc"])
    return [dict(row) for row in stored] == lines and [dict(row) for row in applied] == by_invoice


def _write_record(
    conn,
    record_type: str,
    existing,
    external_id: str | None,
    content: tuple[dict, list[dict], list[dict]],
    now: str,
) -> int:
    """Create or replace the record, its lines and what it is applied to; the internal id never
    changes."""
    header, lines, links = content
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
    insert(
        conn,
        "netsuite_transactionline",
        [
            {"uniquekey": next_key + n, "transaction": record_id, "linesequencenumber": n + 1}
            | line
            | {"linelastmodifieddate": now}
            for n, line in enumerate(lines)
        ],
    )
    # one link per invoice applied to, as the firm's own credit memos are linked (billing.py)
    conn.execute("delete from netsuite_previoustransactionlink where nextdoc = ?", (record_id,))
    insert(
        conn,
        "netsuite_previoustransactionlink",
        [
            {
                "nextdoc": record_id,
                "previousdoc": link["previousdoc"],
                "linktype": "Credit Memo",
                "foreignamount": link["foreignamount"],
                "linkdate": header["trandate"],
                "lastmodifieddate": now,
            }
            for link in links
        ],
    )
    return record_id


@router.get("/record/v1/{record_type}/eid:{external_id}")
def read_record(
    request: Request,
    record_type: RecordType,
    external_id: Annotated[str, Path(min_length=1, max_length=200)],
):
    if refused := _login_refused(request):
        return refused
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
        applied = conn.execute(
            "select previousdoc, foreignamount from netsuite_previoustransactionlink "
            "where nextdoc = ? order by previousdoc",
            (invoice["id"],),
        ).fetchall()
    credit_memo = {
        "createdFrom": {"id": str(invoice["createdfrom"])} if invoice["createdfrom"] else None,
        "apply": {
            "items": [
                {
                    "doc": {"id": str(link["previousdoc"])},
                    "apply": True,
                    "amount": link["foreignamount"],
                }
                for link in applied
            ]
        },
    }
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
                }
                | {field: line[field] for field in CUSTOM_LINE_FIELDS}
                for line in lines
            ]
        },
    } | (credit_memo if record_type == "creditMemo" else {})
