import sqlite3

import pytest

from psa_pipeline.sandbox.store import SCHEMA
from psa_pipeline.sandbox.suiteql import SuiteQLError, compile_query


@pytest.fixture
def conn():
    conn = sqlite3.connect(":memory:")
    conn.row_factory = sqlite3.Row
    conn.executescript(SCHEMA)
    conn.executemany(
        "insert into netsuite_transaction (id, tranid, type, entity, trandate, currency, status, "
        "memo, foreigntotal, createddate, lastmodifieddate) values (?, ?, 'CustInvc', 1, "
        "'2026-01-15', 'USD', 'open', ?, '10.00', ?, ?)",
        [
            (3, "INV3", "it's late and unpaid", "2026-01-01", "2026-03-01"),
            (1, "INV1", None, "2026-01-01", "2026-01-01"),
            (2, "INV2", None, "2026-01-01", "2026-02-01"),
        ],
    )
    return conn


def run(conn, query, limit=100, offset=0):
    compiled = compile_query(query, conn)
    return [dict(r) for r in conn.execute(compiled.sql, (*compiled.params, limit, offset))]


def test_filters_orders_and_pages(conn):
    query = "SELECT id, tranid FROM transaction WHERE lastmodifieddate >= '2026-02-01' ORDER BY id"
    assert run(conn, query) == [{"id": 2, "tranid": "INV2"}, {"id": 3, "tranid": "INV3"}]
    assert run(conn, query, limit=1, offset=1) == [{"id": 3, "tranid": "INV3"}]


def test_quoted_literals_with_and_inside_them(conn):
    rows = run(
        conn,
        "select id from transaction where memo = 'it''s late and unpaid' and type = 'CustInvc'",
    )
    assert rows == [{"id": 3}]


def test_descending_order_breaks_ties_by_key(conn):
    rows = run(conn, "select id from transaction order by createddate desc")
    assert [r["id"] for r in rows] == [3, 2, 1]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("select id from invoices", "Unknown table 'invoices'"),
        ("select nope from transaction", "Unknown column 'nope'"),
        ("select id from transaction where id in (1, 2)", "Unsupported condition"),
        ("delete from transaction", "Unsupported SuiteQL"),
        ("select id from transaction; drop table transaction", "Unsupported SuiteQL"),
    ],
)
def test_refuses_what_it_cannot_answer(conn, query, message):
    with pytest.raises(SuiteQLError, match=message):
        compile_query(query, conn)
