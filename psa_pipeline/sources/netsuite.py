"""NetSuite: invoices and their lines, and the records around them, read in bulk through SuiteQL.

What SuiteQL returns, and what this source does about it (sources beside each fact):

- `POST /services/rest/query/v1/suiteql` with `{"q": ...}` and `Prefer: transient`; `limit` (at
  most 1000) and `offset`; the answer is `{links, count, hasMore, items, offset, totalResults}`,
  and a query returns at most 100,000 rows however it is paged (Oracle, "Executing SuiteQL
  Queries Through REST Web Services", docs.oracle.com/.../section_157909186990.html). So pages
  are keyed, not offset: each asks for the rows after the last key seen, from offset 0, until
  `hasMore` is false (as PostHog's NetSuite source does: PostHog/posthog
  products/warehouse_sources/.../sources/netsuite/netsuite.py).
- Every value is a string, a null field is left out of its row, flags are 'T'/'F' and list fields
  (currency, entity, subsidiary, item, status) are internal ids (Fivetran's NetSuite2 schema,
  fivetran/dbt_netsuite_source models/netsuite2/src_netsuite2.yml; PostHog's `normalize_row`
  test: "SuiteQL omits null columns from each item"). Raw tables keep them as text; staging
  types them, and turns currency ids into ISO codes through the `currency` record, whose
  `symbol` is the code (timdietrich.me "SuiteQL, Currencies, and Exchange Rates").
- Dates come in the account's date format preference and date-times lose their time ("SuiteQL
  formats datetimes with the user's date preference and drops the time", PostHog, above; Salto
  changed to TO_CHAR for accounts with other formats, salto-io/salto#3308). So every date is
  selected through TO_CHAR: dates as `YYYY-MM-DD`, date-times as UTC instants through
  SYS_EXTRACT_UTC (as PostHog does), and filters use TO_TIMESTAMP / TO_DATE. A date that still
  arrives in the account's format (a tenant's custom query, a replayed payload) is read with
  the `date_format` setting (SOURCES__NETSUITE__DATE_FORMAT, NetSuite's default M/D/YYYY); a
  value that fits neither stops the run with `UnreadableNetSuiteDate`, never lands mis-typed.
- The incremental cursors (lastmodifieddate; linelastmodifieddate on lines, which PostHog reads
  the same way) are those UTC instants in one fixed-width form, so they compare as instants.
- `transaction` holds every transaction type: each query names the types it reads (CustInvc,
  CustCred, CustPymt). `transactionline` holds every line of every type, the main line and tax
  lines included, with posting signs (an invoice's income lines are negative: NetSuite's own
  workbook SQL selects `transactionLine.quantity * -1` for sales, and goodrsunglasses/mozartdata
  negates netamount): the source reads the item lines (`mainline = 'F' AND taxline = 'F'`) of
  invoices and credit memos, with their transaction's type, and staging turns the signs. A
  credit memo's invoice is `createdfrom` on its main line (its header has none in SuiteQL).
- `previoustransactionlink` has one row per (previous, next) document and link type; a payment
  applied to several invoices has a row for each, and credit memos are applied with link type
  'Payment' too. It carries no timestamp, so it is read with its applying document's
  lastmodifieddate (as a public TypeScript client does: "the link itself carries no
  timestamp"), keyed by (nextdoc, previousdoc, linktype).
- `subsidiary` and `currency` expose no last-modified date to SuiteQL (PostHog reads them
  whole): both are small and read whole every run.
- Authentication as real tenants use it: token-based auth, an OAuth 1.0a signature with
  HMAC-SHA256 and realm = the account id (requests-oauthlib, as PostHog does; jacobsvante/netsuite
  signs the same way with authlib), or an OAuth 2.0 bearer token.

Given a `month` ("YYYY-MM"), the source reads only the invoices dated in that month and their
lines (one query, the lines joined to their invoice), whole, without a cursor: the month-end
reload.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime

import dlt
from dlt.common.configuration.specs.base_configuration import configspec
from dlt.common.typing import TSecretStrValue
from dlt.sources.helpers.rest_client.auth import AuthConfigBase, BearerTokenAuth
from dlt.sources.helpers.rest_client.paginators import BasePaginator
from dlt.sources.rest_api import RESTAPIConfig
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256
from requests_oauthlib import OAuth1

from psa_pipeline.settings import SourceEndpoint
from psa_pipeline.sources import INITIAL_CURSOR, month_span
from psa_pipeline.sources.landing import IngestStats, PageFormat, landed_resources
from psa_pipeline.sources.probes import Probe, SourceProbes

PAGE_SIZE = 1000  # SuiteQL's maximum
DEFAULT_DATE_FORMAT = "M/D/YYYY"  # NetSuite's default date format preference
UTC_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS"Z"'  # Oracle format elements; "..." is literal text


def as_utc(field: str, alias: str | None = None) -> str:
    """A date-time field as a UTC instant `2026-03-14T10:05:00Z`."""
    return f"TO_CHAR(SYS_EXTRACT_UTC({field}), '{UTC_FORMAT}') AS {alias or field.split('.')[-1]}"


def as_day(field: str, alias: str | None = None) -> str:
    """A date field as `2026-03-14`, whatever the account's date format."""
    return f"TO_CHAR({field}, 'YYYY-MM-DD') AS {alias or field.split('.')[-1]}"


def changed_since(field: str) -> str:
    """The incremental filter: the field, as a UTC instant, from the cursor on."""
    return (
        f"SYS_EXTRACT_UTC({field}) >= TO_TIMESTAMP('{{incremental.start_value}}', '{UTC_FORMAT}')"
    )


# transaction (header) fields read for invoices, credit memos and payments (Fivetran's NetSuite2
# transaction columns; custbody_project_code is this firm's custom body field)
TRANSACTION_FIELDS = ", ".join(
    (
        "t.id",
        "t.tranid",
        "t.type",
        "t.externalid",
        "t.entity",
        as_day("t.trandate"),
        as_day("t.duedate"),
        "t.currency",
        "t.status",
        "t.memo",
        "t.custbody_project_code",
        "t.foreigntotal",
        as_utc("t.createddate"),
        as_utc("t.lastmodifieddate"),
    )
)
TRANSACTION_COLUMNS = (
    "id tranid type externalid entity trandate duedate currency status memo "
    "custbody_project_code foreigntotal createddate lastmodifieddate"
).split()
# transactionline fields (Fivetran's NetSuite2 transactionline; uniquekey is the table-wide key,
# PostHog settings.py; custcol_* are this firm's custom line fields naming what a line bills, and
# on lines the reverse sync writes, the PSA correction the line puts right)
LINE_FIELDS = ", ".join(
    (
        "tl.uniquekey",
        "tl.transaction",
        "t.type AS transactiontype",
        "tl.linesequencenumber",
        "tl.item",
        "BUILTIN.DF(tl.item) AS itemname",
        "tl.memo",
        "tl.quantity",
        "tl.rate",
        "tl.foreignamount",
        "tl.custcol_time_entry_id",
        "tl.custcol_expense_id",
        "tl.custcol_milestone_id",
        "tl.custcol_psa_correction_id",
        as_utc("tl.linelastmodifieddate"),
    )
)
LINE_COLUMNS = (
    "uniquekey transaction transactiontype linesequencenumber item itemname memo quantity rate "
    "foreignamount custcol_time_entry_id custcol_expense_id custcol_milestone_id "
    "custcol_psa_correction_id linelastmodifieddate"
).split()
ITEM_LINES = "tl.mainline = 'F' AND tl.taxline = 'F'"
LINES_FROM = "FROM transactionline tl JOIN transaction t ON t.id = tl.transaction"
# a month: the invoices dated in it ({first} and {after}: its first day and the next month's)
IN_MONTH = "t.trandate >= TO_DATE('{first}', 'YYYY-MM-DD') AND t.trandate < TO_DATE('{after}', 'YYYY-MM-DD')"


def transactions_query(kind: str, where: str, also: str = "", join: str = "") -> str:
    """Transactions of one type (CustInvc, CustCred, CustPymt), `where` they match."""
    return (
        f"SELECT {TRANSACTION_FIELDS}{also} FROM transaction t{join} "
        f"WHERE t.type = '{kind}' AND {where} ORDER BY t.id"
    )


CREDIT_MEMO_SOURCE = (  # the invoice a credit memo was created from is on its main line
    ", ml.createdfrom",
    " JOIN transactionline ml ON ml.transaction = t.id AND ml.mainline = 'T'",
)


class UnreadableNetSuiteDate(ValueError):
    """A date field whose value is neither ISO nor in the account's date format."""


class SuiteQLResource:
    """One SuiteQL query landed as one raw table: its key (row fields, and the expressions the
    query filters on), its incremental cursor (None: read whole), its columns and date fields."""

    def __init__(
        self,
        name: str,
        query: str,
        key: dict[str, str],
        cursor: str | None,
        columns: list[str],
        dates: tuple[str, ...] = (),
        stamps: tuple[str, ...] = (),
    ):
        self.name, self.query, self.key, self.cursor = name, query, key, cursor
        self.columns, self.dates, self.stamps = columns, dates, stamps

    def config(self, date_format: str) -> dict:
        endpoint = {
            "path": "query/v1/suiteql",
            "method": "POST",
            "json": {"q": self.query},
            "params": {"limit": PAGE_SIZE},
            "paginator": SuiteQLKeysetPaginator(self.key),
            "data_selector": "items",
        }
        if self.cursor is not None:
            endpoint["incremental"] = {"cursor_path": self.cursor, "initial_value": INITIAL_CURSOR}
        return {
            "name": self.name,
            "primary_key": list(self.key) if len(self.key) > 1 else next(iter(self.key)),
            "endpoint": endpoint,
            "processing_steps": [
                {"map": _without_links},
                {"map": iso_dates(self.dates, self.stamps, date_format)},
            ],
            # one dict per column: dlt writes the column name into each hint dict
            "columns": {column: {"data_type": "text"} for column in self.columns},
        }


def _records(month: str | None) -> list[SuiteQLResource]:
    """Every resource the source reads: nightly, incremental; or one month's invoices."""
    stamps = ("createddate", "lastmodifieddate")
    headers = dict(dates=("trandate", "duedate"), stamps=stamps)
    if month is not None:
        first, after = map(str, month_span(month))
        in_month = IN_MONTH.format(first=first, after=after)
        return [
            SuiteQLResource(
                "invoices",
                transactions_query("CustInvc", in_month),
                {"id": "t.id"},
                None,
                TRANSACTION_COLUMNS,
                **headers,
            ),
            SuiteQLResource(
                "invoice_lines",
                f"SELECT {LINE_FIELDS} {LINES_FROM} WHERE t.type = 'CustInvc' AND {in_month} "
                f"AND {ITEM_LINES} "
                "ORDER BY tl.uniquekey",
                {"uniquekey": "tl.uniquekey"},
                None,
                LINE_COLUMNS,
                stamps=("linelastmodifieddate",),
            ),
        ]
    changed = changed_since("t.lastmodifieddate")
    return [
        SuiteQLResource(
            "invoices",
            transactions_query("CustInvc", changed),
            {"id": "t.id"},
            "lastmodifieddate",
            TRANSACTION_COLUMNS,
            **headers,
        ),
        SuiteQLResource(
            "invoice_lines",
            f"SELECT {LINE_FIELDS} {LINES_FROM} WHERE t.type IN ('CustInvc', 'CustCred') AND "
            f"{ITEM_LINES} AND {changed_since('tl.linelastmodifieddate')} ORDER BY tl.uniquekey",
            {"uniquekey": "tl.uniquekey"},
            "linelastmodifieddate",
            LINE_COLUMNS,
            stamps=("linelastmodifieddate",),
        ),
        SuiteQLResource(
            "credit_memos",
            transactions_query("CustCred", changed, *CREDIT_MEMO_SOURCE),
            {"id": "t.id"},
            "lastmodifieddate",
            [*TRANSACTION_COLUMNS, "createdfrom"],
            **headers,
        ),
        SuiteQLResource(
            "payments",
            transactions_query("CustPymt", changed),
            {"id": "t.id"},
            "lastmodifieddate",
            TRANSACTION_COLUMNS,
            **headers,
        ),
        SuiteQLResource(  # what each payment or credit memo was applied to, and how much
            "transaction_links",
            "SELECT ptl.previousdoc, ptl.nextdoc, ptl.linktype, ptl.foreignamount, "
            f"t.type AS nexttype, {as_day('t.trandate', 'nexttrandate')}, "
            f"{as_utc('t.lastmodifieddate')} FROM previoustransactionlink ptl "
            "JOIN transaction t ON t.id = ptl.nextdoc "
            "JOIN transaction p ON p.id = ptl.previousdoc "
            f"WHERE t.type IN ('CustPymt', 'CustCred') AND p.type = 'CustInvc' AND {changed} "
            "ORDER BY ptl.nextdoc, ptl.previousdoc, ptl.linktype",
            {
                "nextdoc": "ptl.nextdoc",
                "previousdoc": "ptl.previousdoc",
                "linktype": "ptl.linktype",
            },
            "lastmodifieddate",
            "previousdoc nextdoc linktype foreignamount nexttype nexttrandate lastmodifieddate".split(),
            dates=("nexttrandate",),
            stamps=("lastmodifieddate",),
        ),
        SuiteQLResource(
            "customers",
            "SELECT c.id, c.entityid, c.companyname, c.externalid, c.parent, c.subsidiary, "
            f"c.currency, c.url, {as_utc('c.datecreated')}, {as_utc('c.lastmodifieddate')} "
            f"FROM customer c WHERE {changed_since('c.lastmodifieddate')} ORDER BY c.id",
            {"id": "c.id"},
            "lastmodifieddate",
            "id entityid companyname externalid parent subsidiary currency url datecreated "
            "lastmodifieddate".split(),
            stamps=("datecreated", "lastmodifieddate"),
        ),
        SuiteQLResource(
            "jobs",
            "SELECT j.id, j.entityid, j.companyname, j.externalid, j.parent, j.subsidiary, "
            f"j.currency, {as_day('j.startdate')}, {as_day('j.projectedenddate')}, j.entitystatus, "
            f"BUILTIN.DF(j.entitystatus) AS entitystatusname, {as_utc('j.datecreated')}, "
            f"{as_utc('j.lastmodifieddate')} FROM job j "
            f"WHERE {changed_since('j.lastmodifieddate')} ORDER BY j.id",
            {"id": "j.id"},
            "lastmodifieddate",
            "id entityid companyname externalid parent subsidiary currency startdate "
            "projectedenddate entitystatus entitystatusname datecreated lastmodifieddate".split(),
            dates=("startdate", "projectedenddate"),
            stamps=("datecreated", "lastmodifieddate"),
        ),
        SuiteQLResource(
            "currency_rates",
            "SELECT r.id, r.basecurrency, r.transactioncurrency, r.exchangerate, "
            f"{as_day('r.effectivedate')}, {as_utc('r.lastmodifieddate')} FROM currencyrate r "
            f"WHERE {changed_since('r.lastmodifieddate')} ORDER BY r.id",
            {"id": "r.id"},
            "lastmodifieddate",
            "id basecurrency transactioncurrency exchangerate effectivedate lastmodifieddate".split(),
            dates=("effectivedate",),
            stamps=("lastmodifieddate",),
        ),
        SuiteQLResource(
            "subsidiaries",
            "SELECT s.id, s.name, s.currency, s.country FROM subsidiary s ORDER BY s.id",
            {"id": "s.id"},
            None,
            ["id", "name", "currency", "country"],
        ),
        SuiteQLResource(
            "currencies",
            "SELECT c.id, c.name, c.symbol, c.isbasecurrency FROM currency c ORDER BY c.id",
            {"id": "c.id"},
            None,
            ["id", "name", "symbol", "isbasecurrency"],
        ),
    ]


RESOURCES = [resource.name for resource in _records(None)]


class SuiteQLKeysetPaginator(BasePaginator):
    """Pages a SuiteQL query by its key: the next page is the rows after the last key seen,
    `(k1 > a) OR (k1 = a AND k2 > b) ...`, added to the query's own conditions."""

    def __init__(self, key: dict[str, str]):
        super().__init__()
        self.key = key  # row field -> the expression the query filters and orders on
        self._query = ""
        self._last: dict | None = None

    def init_request(self, request) -> None:
        """A new extraction starts from the first page (dlt reuses the paginator object)."""
        self._has_next_page = True
        self._last = None
        self._query = request.json["q"]

    def update_state(self, response, data: list | None = None) -> None:
        if not response.json().get("hasMore") or not data:
            self._has_next_page = False
            return
        self._last = data[-1]

    def update_request(self, request) -> None:
        if not self._has_next_page or self._last is None:  # dlt asks after the last page too
            return
        after = after_key(self.key, self._last)
        head, _, order = self._query.rpartition(" ORDER BY ")
        request.json = {**request.json, "q": f"{head} AND {after} ORDER BY {order}"}


def after_key(key: dict[str, str], row: dict) -> str:
    """The keyset condition for the rows after `row` in key order."""
    clauses = []
    fields = list(key)
    for index, field in enumerate(fields):
        equal = [f"{key[f]} = {_literal(row[f])}" for f in fields[:index]]
        clauses.append(" AND ".join([*equal, f"{key[field]} > {_literal(row[field])}"]))
    return "(" + " OR ".join(f"({clause})" for clause in clauses) + ")"


def _literal(value: str) -> str:
    text = str(value)
    return text if re.fullmatch(r"-?\d+", text) else "'" + text.replace("'", "''") + "'"


def _without_links(item: dict) -> dict:
    """SuiteQL puts a `links` list on every row; it is not data."""
    item.pop("links", None)
    return item


ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
ISO_INSTANT = re.compile(
    r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(:\d{2})?)(\.\d+)?(Z|[+-]\d{2}:?\d{2})?"
)


def account_date_pattern(date_format: str) -> re.Pattern:
    """The account's date format (`M/D/YYYY`, `DD.MM.YYYY`, ...) as a pattern, with an optional
    time as NetSuite shows one (`2:05 pm`, `14:05`)."""
    groups = {"YYYY": r"(?P<y>\d{4})", "MM": r"(?P<m>\d{2})", "DD": r"(?P<d>\d{2})"}
    groups |= {"M": r"(?P<m>\d{1,2})", "D": r"(?P<d>\d{1,2})"}
    parts = re.split("(YYYY|MM|DD|M|D)", date_format)
    body = "".join(groups.get(part, re.escape(part)) for part in parts)
    time = r"(?:\s+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?\s*(?P<p>[aApP][mM])?)?"
    return re.compile(body + time)


def read_date(value: str, pattern: re.Pattern, stamp: bool) -> str:
    """An ISO date (`2026-03-14`) or UTC instant (`2026-03-14T10:05:00Z`) from what SuiteQL
    sent: ISO already (what TO_CHAR asked for), or the account's format (times as UTC: the
    sandbox's and an integration user's preference should be UTC; see README)."""
    text = value.strip()
    if ISO_DAY.fullmatch(text):
        return f"{text}T00:00:00Z" if stamp else text
    if (iso := ISO_INSTANT.fullmatch(text)) is not None:
        at = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T"))
        at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
        return at.strftime("%Y-%m-%dT%H:%M:%SZ") if stamp else iso[1]
    match = pattern.fullmatch(text)
    if match is None:
        raise ValueError(text)
    day = date(int(match["y"]), int(match["m"]), int(match["d"]))
    if not stamp:
        return day.isoformat()
    hour = int(match["H"] or 0) % 12 if match["p"] else int(match["H"] or 0)
    hour += 12 if (match["p"] or "").lower() == "pm" else 0
    at = datetime(day.year, day.month, day.day, hour, int(match["M"] or 0), int(match["S"] or 0))
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_dates(
    dates: tuple[str, ...], stamps: tuple[str, ...], date_format: str
) -> Callable[[dict], dict]:
    """A rest_api `map` step (it runs before dlt's incremental cursor): date fields as ISO
    dates, date-time fields as fixed-width UTC instants, whatever form they came in."""
    pattern = account_date_pattern(date_format)
    fields = [(field, False) for field in dates] + [(field, True) for field in stamps]

    def step(record: dict) -> dict:
        for field, stamp in fields:
            value = record.get(field)
            if value is None:
                continue
            try:
                record[field] = read_date(str(value), pattern, stamp)
            except ValueError:
                raise UnreadableNetSuiteDate(
                    f"netsuite: field {field!r} of a record with key "
                    f"{ {k: record.get(k) for k in ('id', 'uniquekey', 'nextdoc') if k in record} } "
                    f"is {value!r}: neither ISO 8601 nor the account's date format "
                    f"{date_format!r}. Set SOURCES__NETSUITE__DATE_FORMAT to the account's date "
                    "format preference (Setup > Company > General Preferences)."
                ) from None
        return record

    return step


# ------------------------------------------------------------------ authentication


@configspec
class TokenBasedAuth(AuthConfigBase):
    """NetSuite token-based auth: each request signed with OAuth 1.0a, HMAC-SHA256, realm = the
    account id in its canonical form (`1234567_SB1`), by requests-oauthlib (a new nonce and
    timestamp per request, so a retried request is signed again)."""

    account_id: str = None
    consumer_key: TSecretStrValue = None
    consumer_secret: TSecretStrValue = None
    token_id: TSecretStrValue = None
    token_secret: TSecretStrValue = None

    def __call__(self, request):
        request.sign_again = self  # a retry is signed afresh (sources/http.py `sign_again`)
        return OAuth1(
            client_key=self.consumer_key,
            client_secret=self.consumer_secret,
            resource_owner_key=self.token_id,
            resource_owner_secret=self.token_secret,
            signature_method=SIGNATURE_HMAC_SHA256,
            realm=realm_of(self.account_id),
        )(request)


def realm_of(account_id: str) -> str:
    """NetSuite's account id as TBA signs it: `1234567-sb1` -> `1234567_SB1` (PostHog)."""
    return account_id.strip().upper().replace("-", "_")


def netsuite_auth(endpoint) -> AuthConfigBase:
    """TBA when the endpoint has all four TBA credentials and an account id; else the OAuth 2.0
    bearer token."""
    tba = [
        endpoint.consumer_key,
        endpoint.consumer_secret,
        endpoint.token_id,
        endpoint.token_secret,
    ]
    if all(tba) and endpoint.account_id:
        return TokenBasedAuth(endpoint.account_id, *tba)
    return BearerTokenAuth(endpoint.access_token)


# ------------------------------------------------------------------ the source


@dlt.source(name="netsuite")
def netsuite_source(
    base_url: str = dlt.config.value,
    access_token: str | None = dlt.secrets.value,
    account_id: str | None = dlt.config.value,
    consumer_key: str | None = dlt.secrets.value,
    consumer_secret: str | None = dlt.secrets.value,
    token_id: str | None = dlt.secrets.value,
    token_secret: str | None = dlt.secrets.value,
    date_format: str | None = DEFAULT_DATE_FORMAT,
    page_format: PageFormat = "arrow",
    stats: IngestStats | None = None,
    month: str | None = None,
):
    """Yields `invoices`, `invoice_lines` (the item lines of invoices and credit memos),
    `credit_memos`, `payments`, `transaction_links` (what each payment or credit memo was
    applied to), `customers`, `jobs`, `currency_rates`, `subsidiaries` and `currencies`, every
    value as SuiteQL's text, dates ISO. With a `month` ("YYYY-MM"): only the invoices dated in
    that month and their lines, without a cursor."""
    endpoint = SourceEndpoint(
        base_url,
        access_token or "",
        account_id=account_id,
        consumer_key=consumer_key,
        consumer_secret=consumer_secret,
        token_id=token_id,
        token_secret=token_secret,
    )
    config: RESTAPIConfig = {
        "client": {
            "base_url": base_url.rstrip("/") + "/services/rest/",
            "auth": netsuite_auth(endpoint),
            "headers": {"Prefer": "transient"},
        },
        "resource_defaults": {"write_disposition": "merge"},
        "resources": [
            resource.config(date_format or DEFAULT_DATE_FORMAT) for resource in _records(month)
        ],
    }
    yield from landed_resources(config, "netsuite", None, stats or IngestStats(), page_format)


def probes(endpoint: SourceEndpoint) -> SourceProbes:
    """The first row of each query the source runs, with the auth it signs with; the answer
    must be SuiteQL's page of strings, dates readable."""
    date_format = endpoint.date_format or DEFAULT_DATE_FORMAT
    return SourceProbes(
        base_url=endpoint.base_url.rstrip("/") + "/services/rest/",
        auth=netsuite_auth(endpoint),
        headers={"Prefer": "transient"},
        probes=tuple(
            Probe(
                f"SuiteQL {resource.name}",
                "POST",
                "query/v1/suiteql",
                suiteql_page(resource, date_format),
                params={"limit": 1},
                json={"q": resource.query.replace("{incremental.start_value}", INITIAL_CURSOR)},
                permission=PERMISSIONS[resource.name],
                denied_when=("Search error occurred: Record",),
            )
            for resource in _records(None)
        ),
        settings_hint=(
            "SOURCES__NETSUITE__BASE_URL, __ACCOUNT_ID, __CONSUMER_KEY, __CONSUMER_SECRET, "
            "__TOKEN_ID, __TOKEN_SECRET (or __ACCESS_TOKEN for OAuth 2.0)"
        ),
    )


# what the role needs for each query, as NetSuite's role permissions name it
_TRANSACTIONS = "Transactions > Find Transaction"
PERMISSIONS = {
    "invoices": f"{_TRANSACTIONS} and Transactions > Invoice (View)",
    "invoice_lines": f"{_TRANSACTIONS}, Transactions > Invoice and Credit Memo (View), Lists > Items",
    "credit_memos": f"{_TRANSACTIONS} and Transactions > Credit Memo (View)",
    "payments": f"{_TRANSACTIONS} and Transactions > Customer Payment (View)",
    "transaction_links": f"{_TRANSACTIONS}, Customer Payment and Credit Memo (View)",
    "customers": "Lists > Customers (View)",
    "jobs": "Lists > Projects (View)",
    "currency_rates": "Lists > Currency Exchange Rates (View)",
    "subsidiaries": "Lists > Subsidiaries (View)",
    "currencies": "Lists > Currency (View)",
}


def suiteql_page(resource: SuiteQLResource, date_format: str):
    """A format check: a SuiteQL page whose values are strings and whose dates this source
    reads."""
    pattern = account_date_pattern(date_format)

    def check(response) -> str | None:
        if "json" not in response.headers.get("Content-Type", ""):
            return "the answer is not JSON"
        body = response.json()
        if not isinstance(body, dict) or not {"items", "hasMore"} <= body.keys():
            return "the answer is not a SuiteQL page (no 'items' or 'hasMore')"
        for row in body["items"]:
            odd = [k for k, v in row.items() if k != "links" and not isinstance(v, str)]
            if odd:
                return f"fields {odd} are not strings, as SuiteQL sends every value"
            for field in (*resource.dates, *resource.stamps):
                if field in row:
                    try:
                        read_date(row[field], pattern, field in resource.stamps)
                    except ValueError:
                        return (
                            f"{field} is {row[field]!r}, not a date in ISO or the account's "
                            f"format {date_format!r} (SOURCES__NETSUITE__DATE_FORMAT)"
                        )
        return None

    return check
