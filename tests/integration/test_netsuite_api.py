"""The sandbox ERP's SuiteQL tables page honestly and filter by last-modified date."""

import pytest
import requests

from psa_pipeline.sandbox.suiteql import TABLES
from tests.helpers import AUTH

# the key of each table (SuiteQL pages are stable by it) and its last-modified column
KEYS = {
    "subsidiary": ("id", "lastmodifieddate"),
    "customer": ("id", "lastmodifieddate"),
    "job": ("id", "lastmodifieddate"),
    "transaction": ("id", "lastmodifieddate"),
    "transactionline": ("uniquekey", "linelastmodifieddate"),
    "previoustransactionlink": ("nextdoc", "lastmodifieddate"),
    "currencyrate": ("id", "lastmodifieddate"),
}


def all_rows(server, query: str, limit: int) -> list[dict]:
    url, rows = f"{server.url}/netsuite/services/rest/query/v1/suiteql?limit={limit}", []
    while url:
        page = requests.post(
            url, json={"q": query}, headers=AUTH | {"Prefer": "transient"}, timeout=30
        ).json()
        rows += page["items"]
        url = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
    return rows


def store_rows(server, sql: str, *args) -> list[tuple]:
    with server.store.connect() as conn:
        return [tuple(row) for row in conn.execute(sql, args)]


def test_every_table_the_erp_has_is_served():
    assert set(KEYS) == set(TABLES)


@pytest.mark.parametrize("table", sorted(KEYS))
def test_each_table_pages_every_row_exactly_once_and_filters_by_modification(sandbox, table):
    key, modified = KEYS[table]
    (stored,) = store_rows(sandbox, f"select count(*) from {TABLES[table]}")[0]
    limit = min(1000, max(1, stored // 3))  # at least three pages, at most a SuiteQL page
    rows = all_rows(sandbox, f"select {key}, {modified} from {table} order by {key}", limit)
    assert len(rows) == len({r[key] for r in rows}) == stored > 2
    assert [int(r[key]) for r in rows] == sorted(int(r[key]) for r in rows)

    stamps = sorted(r[modified] for r in rows)
    since = stamps[len(stamps) // 2]
    changed = all_rows(
        sandbox, f"select {key} from {table} where {modified} >= '{since}' order by {key}", limit
    )
    expected = store_rows(
        sandbox, f"select {key} from {TABLES[table]} where {modified} >= ? order by {key}", since
    )
    assert [int(r[key]) for r in changed] == [e[0] for e in expected] and 0 < len(expected) <= len(
        rows
    )
