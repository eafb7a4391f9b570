"""The sandbox's SuiteQL answers what a NetSuite connector sends, as NetSuite would."""

import sqlite3

import pytest

from psa_pipeline.sandbox.store import SCHEMA
from psa_pipeline.sandbox.suiteql import TABLES, SuiteQLError, compile_query, register_functions

UTC = 'YYYY-MM-DD"T"HH24:MI:SS"Z"'


@pytest.fixture
def conn():
    conn = sqlite3.connect(":memory:")
    conn.row_factory = sqlite3.Row
    conn.executescript(SCHEMA)
    register_functions(conn)
    conn.executemany(
        "insert into netsuite_transaction (id, tranid, type, entity, trandate, currency, status, "
        "memo, foreigntotal, createddate, lastmodifieddate, createdfrom) values (?, ?, ?, 1, ?, "
        "'EUR', ?, ?, ?, '2026-01-01T08:00:00Z', ?, ?)",
        [
            (
                1,
                "INV1",
                "CustInvc",
                "2026-01-15",
                "open",
                None,
                "10.00",
                "2026-01-15T12:00:00Z",
                None,
            ),
            (
                2,
                "INV2",
                "CustInvc",
                "2026-02-15",
                "paidInFull",
                None,
                "20.00",
                "2026-03-01T09:30:00Z",
                None,
            ),
            (
                3,
                "CM3",
                "CustCred",
                "2026-03-14",
                "applied",
                "it's late",
                "5.00",
                "2026-03-14T14:00:00Z",
                2,
            ),
        ],
    )
    conn.executemany(
        'insert into netsuite_transactionline (uniquekey, "transaction", linesequencenumber, item, '
        "quantity, rate, foreignamount, linelastmodifieddate) values (?, ?, 1, ?, ?, ?, ?, ?)",
        [
            (11, 1, "Professional Services", "2", "5.00", "10.00", "2026-01-15T12:00:00Z"),
            (21, 2, "Milestone", "1", "20.00", "20.00", "2026-02-15T12:00:00Z"),
            (31, 3, "Service credit", "1", "5.00", "5.00", "2026-03-14T14:00:00Z"),
        ],
    )
    return conn


def run(conn, query, date_format="M/D/YYYY"):
    compiled = compile_query(query, date_format)
    return [
        {k: row[k] for k in row.keys() if row[k] is not None}
        for row in conn.execute(compiled.page_sql, (100, 0))
    ]


def test_every_record_served_has_the_fields_declared(conn):
    for record, fields in TABLES.items():
        served = [row["name"] for row in conn.execute(f"pragma table_info(suiteql_{record})")]
        assert served == list(fields), record


@pytest.mark.parametrize(
    ("date_format", "shown"),
    [("M/D/YYYY", "3/14/2026"), ("DD/MM/YYYY", "14/03/2026"), ("DD.MM.YYYY", "14.03.2026")],
)
def test_dates_come_in_the_account_format_without_their_time_unless_formatted(
    conn, date_format, shown
):
    (row,) = run(
        conn,
        f"SELECT trandate, lastmodifieddate, TO_CHAR(trandate, 'YYYY-MM-DD') AS day, "
        f"TO_CHAR(SYS_EXTRACT_UTC(lastmodifieddate), '{UTC}') AS stamp FROM transaction "
        "WHERE id = 3",
        date_format,
    )
    assert row == {
        "trandate": shown,
        "lastmodifieddate": shown,
        "day": "2026-03-14",
        "stamp": "2026-03-14T14:00:00Z",
    }


def test_timestamps_filter_as_instants_and_strings_as_account_dates(conn):
    since = f"TO_TIMESTAMP('2026-03-01T09:30:00Z', '{UTC}')"
    rows = run(conn, f"SELECT id FROM transaction WHERE lastmodifieddate >= {since} ORDER BY id")
    assert [r["id"] for r in rows] == [2, 3]
    rows = run(conn, "SELECT id FROM transaction WHERE trandate < '2/15/2026' ORDER BY id")
    assert [r["id"] for r in rows] == [1]
    rows = run(
        conn, "SELECT id FROM transaction WHERE trandate >= TO_DATE('2026-02-15', 'YYYY-MM-DD')"
    )
    assert sorted(r["id"] for r in rows) == [2, 3]
    with pytest.raises(SuiteQLError, match="Invalid date value '2026-02-15'"):
        compile_query("SELECT id FROM transaction WHERE trandate >= '2026-02-15'", "M/D/YYYY")


def test_lines_carry_posting_signs_main_lines_ids_and_display_names(conn):
    rows = run(
        conn,
        "SELECT tl.uniquekey, tl.mainline, tl.item, BUILTIN.DF(tl.item) AS itemname, "
        "tl.quantity, tl.foreignamount, tl.createdfrom, t.type FROM transactionline tl "
        "JOIN transaction t ON t.id = tl.transaction ORDER BY tl.uniquekey",
    )
    items = [r for r in rows if r["mainline"] == "F"]
    assert [(r["type"], r["foreignamount"], r["quantity"]) for r in items] == [
        ("CustInvc", "-10.00", "-2"),
        ("CustInvc", "-20.00", "-1"),
        ("CustCred", "5.00", "1"),
    ]
    assert [(r["item"], r["itemname"]) for r in items] == [
        (11, "Professional Services"),
        (14, "Milestone"),
        (16, "Service credit"),
    ]
    main = {r["uniquekey"]: r for r in rows if r["mainline"] == "T"}
    assert len(main) == 3 and main[2_000_000_003]["createdfrom"] == 2


def test_statuses_are_letters_currencies_ids_and_in_lists_and_subqueries_work(conn):
    rows = run(
        conn,
        "SELECT t.id, t.status, t.currency, c.symbol FROM transaction t "
        "JOIN currency c ON c.id = t.currency WHERE t.id IN (SELECT transaction FROM "
        "transactionline WHERE mainline = 'F' AND item IN (11, 16)) ORDER BY t.id",
    )
    assert rows == [
        {"id": 1, "status": "A", "currency": 4, "symbol": "EUR"},
        {"id": 3, "status": "B", "currency": 4, "symbol": "EUR"},
    ]
    assert run(conn, "SELECT memo FROM transaction WHERE memo = 'it''s late'") == [
        {"memo": "it's late"}
    ]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("select id from invoices", "Record 'invoices' was not found."),
        ("select nope from transaction", "Field 'nope' was not found."),
        ("delete from transaction", "Only one SELECT statement"),
        ("select id from transaction; select id from job", "Only one SELECT statement"),
        ("select id from", "Failed to parse SQL"),
    ],
)
def test_refuses_what_netsuite_refuses(query, message):
    with pytest.raises(SuiteQLError, match=message):
        compile_query(query)
