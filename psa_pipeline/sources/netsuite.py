"""NetSuite: invoices and their lines, and the records around them, read in bulk through SuiteQL.

The record API returns one record per request, so bulk reads go through
`POST /query/v1/suiteql` (header `Prefer: transient`). A query returns at most 100,000 rows
however it is paged, so pages are keyed, not offset: each asks for the rows after the last key
seen (`... AND key > last ORDER BY key`, always from offset 0) until `hasMore` is false, which
also keeps pages stable while new rows arrive. The incremental cursor is the last-modified date
in the WHERE clause. SuiteQL returns
every value as a string and leaves null fields out; money stays a string here and is cast to
DECIMAL in staging, so no amount ever passes through a float.

Before pointing this at a real tenant (issue #4): real `transactionline` holds the lines of every
transaction type, so the lines query must join to invoices; and real SuiteQL formats dates in the account's
preferences, so the cursor comparison should go through TO_CHAR / TO_TIMESTAMP. Real tenants
also authenticate with OAuth 1.0 token-based auth, not a bearer token. (Unverified against a
tenant; the sandbox does not enforce these.)

Given a `month` ("YYYY-MM"), the source yields only the invoices dated in that month and their
lines, read whole without a cursor: the month-end reload. A tenant would read those lines in
one query (`... WHERE transaction IN (SELECT id FROM transaction WHERE ...)`, or a join); the
sandbox's SuiteQL knows neither, nor `IN (...)` lists, and `transactionline` has no date of its
own. So the month's invoice ids are looked up first (one keyed query, when the source is built)
and the lines are read by the range of those ids, keeping the month's; the invoices read are
kept to the same ids, so every invoice landed comes with all of its lines.
"""

from __future__ import annotations

import re

import dlt
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.auth import BearerTokenAuth
from dlt.sources.helpers.rest_client.paginators import BasePaginator
from dlt.sources.rest_api import RESTAPIConfig

from psa_pipeline.settings import SourceEndpoint
from psa_pipeline.sources import INITIAL_CURSOR, month_span
from psa_pipeline.sources.http import RetryingSession
from psa_pipeline.sources.landing import IngestStats, PageFormat, landed_resources
from psa_pipeline.sources.probes import Probe, SourceProbes, json_with

PAGE_SIZE = 1000  # SuiteQL's maximum

INVOICE_FIELDS = (
    "id, tranid, type, externalid, entity, trandate, currency, status, memo, "
    "custbody_project_code, foreigntotal, createddate, lastmodifieddate"
)
LINE_FIELDS = (
    "uniquekey, transaction, linesequencenumber, item, memo, quantity, rate, "
    "foreignamount, custcol_time_entry_id, custcol_expense_id, custcol_milestone_id, "
    "linelastmodifieddate"
)
INVOICES_QUERY = (
    f"SELECT {INVOICE_FIELDS} FROM transaction "
    "WHERE type = 'CustInvc' AND lastmodifieddate >= '{incremental.start_value}' ORDER BY id"
)
INVOICE_LINES_QUERY = (
    f"SELECT {LINE_FIELDS} FROM transactionline "
    "WHERE linelastmodifieddate >= '{incremental.start_value}' ORDER BY uniquekey"
)
# a month: the invoices dated in it ({first} and {after}: its first day and the next month's)
MONTH_FILTER = "type = 'CustInvc' AND trandate >= '{first}' AND trandate < '{after}'"
INVOICE_COLUMNS = [
    "id",
    "externalid",
    "entity",
    "foreigntotal",
    "memo",
    "custbody_project_code",
    "trandate",
    "createddate",
    "lastmodifieddate",
]
LINE_COLUMNS = [
    "uniquekey",
    "transaction",
    "quantity",
    "rate",
    "foreignamount",
    "memo",
    "custcol_time_entry_id",  # the Harvest time entry, expense or Kantata milestone billed
    "custcol_expense_id",
    "custcol_milestone_id",
    "linelastmodifieddate",
]


# the other records, whole: (resource, SuiteQL table, transaction type if any, key)
RECORDS = [
    ("subsidiaries", "subsidiary", None, "id"),
    ("customers", "customer", None, "id"),
    ("jobs", "job", None, "id"),
    ("credit_memos", "transaction", "CustCred", "id"),
    ("payments", "transaction", "CustPymt", "id"),
    ("transaction_links", "previoustransactionlink", None, "nextdoc"),  # what each applies to
    ("currency_rates", "currencyrate", None, "id"),
]


def _records_query(table: str, transaction_type: str | None, key: str) -> str:
    of_type = f"type = '{transaction_type}' AND " if transaction_type else ""
    return (
        f"SELECT * FROM {table} WHERE {of_type}lastmodifieddate >= '{{incremental.start_value}}' "
        f"ORDER BY {key}"
    )


class SuiteQLKeysetPaginator(BasePaginator):
    """Pages a SuiteQL query by its key: the next page is the rows after the last key seen."""

    def __init__(self, key: str):
        super().__init__()
        self.key = key
        self._last_key: str | None = None

    def init_request(self, request) -> None:
        """A new extraction starts from the first page (dlt reuses the paginator object)."""
        self._has_next_page = True
        self._last_key = None

    def update_state(self, response, data: list | None = None) -> None:
        if not response.json().get("hasMore") or not data:
            self._has_next_page = False
            return
        self._last_key = data[-1][self.key]

    def update_request(self, request) -> None:
        """Replace the previous page's key condition (if any) with one after the last key."""
        if not self._has_next_page:  # dlt asks after the last page too
            return
        query = re.sub(rf" AND {self.key} > \d+ ORDER BY ", " ORDER BY ", request.json["q"])
        after = f" AND {self.key} > {int(self._last_key)} ORDER BY "
        request.json = {**request.json, "q": query.replace(" ORDER BY ", after)}


def _without_links(item: dict) -> dict:
    """SuiteQL puts an empty `links` list on every row; it is not data."""
    item.pop("links", None)
    return item


def _suiteql_resource(
    name: str,
    query: str,
    primary_key: str,
    cursor: str | None,
    columns: list[str],
    steps: tuple[dict, ...] = (),
) -> dict:
    """A SuiteQL query paged by its key; incremental on `cursor` unless that is None."""
    endpoint = {
        "path": "query/v1/suiteql",
        "method": "POST",
        "json": {"q": query},
        "params": {"limit": PAGE_SIZE},
        "paginator": SuiteQLKeysetPaginator(primary_key),
        "data_selector": "items",
    }
    if cursor is not None:
        endpoint["incremental"] = {"cursor_path": cursor, "initial_value": INITIAL_CURSOR}
    return {
        "name": name,
        "primary_key": primary_key,
        "endpoint": endpoint,
        "processing_steps": [*steps, {"map": _without_links}],
        # one dict per column: dlt writes the column name into each hint dict
        "columns": {column: {"data_type": "text"} for column in columns},
    }


def _month_invoice_ids(client: RESTClient, month_filter: str, stats: IngestStats) -> set[str]:
    """The ids of the month's invoices (counted as requests of `invoice_lines`, which needs
    them)."""
    pages = client.paginate(
        "query/v1/suiteql",
        method="POST",
        json={"q": f"SELECT id FROM transaction WHERE {month_filter} ORDER BY id"},
        params={"limit": PAGE_SIZE},
        paginator=SuiteQLKeysetPaginator("id"),
        data_selector="items",
        hooks={"response": [stats.count_request("invoice_lines")]},
    )
    return {row["id"] for page in pages for row in page}


def _month_resources(client: RESTClient, month: str, stats: IngestStats) -> list[dict]:
    """The invoices dated in `month` and all their lines, kept to the invoice ids looked up
    first (see the module docstring)."""
    first, after = map(str, month_span(month))
    month_filter = MONTH_FILTER.format(first=first, after=after)
    ids = _month_invoice_ids(client, month_filter, stats)
    invoices = _suiteql_resource(
        "invoices",
        f"SELECT {INVOICE_FIELDS} FROM transaction WHERE {month_filter} ORDER BY id",
        "id",
        None,
        INVOICE_COLUMNS,
        steps=({"filter": lambda invoice: invoice.get("id") in ids},),
    )
    if not ids:
        return [invoices]
    low, high = min(map(int, ids)), max(map(int, ids))
    lines = _suiteql_resource(
        "invoice_lines",
        f"SELECT {LINE_FIELDS} FROM transactionline "
        f"WHERE transaction >= {low} AND transaction <= {high} ORDER BY uniquekey",
        "uniquekey",
        None,
        LINE_COLUMNS,
        steps=({"filter": lambda line: line.get("transaction") in ids},),
    )
    return [invoices, lines]


@dlt.source(name="netsuite")
def netsuite_source(
    base_url: str = dlt.config.value,
    access_token: str = dlt.secrets.value,
    page_format: PageFormat = "arrow",
    stats: IngestStats | None = None,
    month: str | None = None,
):
    """Yields `invoices` (SuiteQL `transaction` of type CustInvc), `invoice_lines` (every
    transaction line, credit memos' included), and whole records of `subsidiaries`,
    `customers`, `jobs`, `credit_memos`, `payments`, `transaction_links` (payment or credit memo
    -> the invoice it applies to, with the amount) and `currency_rates`, all as text. With a
    `month` ("YYYY-MM"): only the invoices dated in that month and their lines, without a
    cursor."""
    stats = stats or IngestStats()
    base_url = base_url.rstrip("/") + "/services/rest/"
    headers = {"Prefer": "transient"}
    config: RESTAPIConfig = {
        "client": {
            "base_url": base_url,
            "auth": {"type": "bearer", "token": access_token},
            "headers": headers,
        },
        "resource_defaults": {"write_disposition": "merge"},
        "resources": [
            _suiteql_resource(
                "invoices", INVOICES_QUERY, "id", "lastmodifieddate", INVOICE_COLUMNS
            ),
            _suiteql_resource(
                "invoice_lines",
                INVOICE_LINES_QUERY,
                "uniquekey",
                "linelastmodifieddate",
                LINE_COLUMNS,
            ),
            *(
                _suiteql_resource(
                    name, _records_query(table, kind, key), key, "lastmodifieddate", [key]
                )
                for name, table, kind, key in RECORDS
            ),
        ],
    }
    if month is not None:
        client = RESTClient(
            base_url,
            headers=headers,
            auth=BearerTokenAuth(access_token),
            session=RetryingSession("netsuite"),
        )
        config["resources"] = _month_resources(client, month, stats)
    yield from landed_resources(config, "netsuite", None, stats, page_format)


def probes(endpoint: SourceEndpoint) -> SourceProbes:
    """One row of each SuiteQL table the source reads."""
    tables = ("transaction", "transactionline", *dict.fromkeys(t for _, t, _, _ in RECORDS))
    return SourceProbes(
        base_url=endpoint.base_url.rstrip("/") + "/services/rest/",
        auth=BearerTokenAuth(endpoint.access_token),
        headers={"Prefer": "transient"},
        probes=tuple(
            Probe(
                f"SuiteQL {table}",
                "POST",
                "query/v1/suiteql",
                json_with("items", "hasMore"),
                params={"limit": 1},
                json={"q": f"SELECT * FROM {table}"},
                permission=f"the role's permission to read {table} records (SuiteAnalytics)",
                denied_when=("permission", "not found"),
            )
            for table in tables
        ),
        settings_hint="SOURCES__NETSUITE__BASE_URL, SOURCES__NETSUITE__ACCESS_TOKEN",
    )
