"""A deliberately small SuiteQL interpreter for the sandbox ERP.

Connectors read NetSuite in bulk through SuiteQL, so the sandbox must answer the queries they
send: `SELECT <columns | *> FROM <table> [WHERE <col> <op> <literal> [AND ...]]
[ORDER BY <col> [ASC|DESC]]`. Anything outside that grammar, or naming an unknown table or
column, is refused with a clear message (the way NetSuite answers 400), never guessed at.
Column and table names are checked against the store before any SQL is built; literals are
bound as parameters.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass

TABLES = {  # SuiteQL's table names -> the store's
    name: f"netsuite_{name}"
    for name in (
        "subsidiary",
        "customer",
        "job",
        "transaction",
        "transactionline",
        "previoustransactionlink",
        "currencyrate",
    )
}

_QUERY = re.compile(
    r"^\s*select\s+(?P<columns>.+?)\s+from\s+(?P<table>\w+)"
    r"(?:\s+where\s+(?P<where>.+?))?"
    r"(?:\s+order\s+by\s+(?P<order>\w+)(?:\s+(?P<direction>asc|desc))?)?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_CONDITION = re.compile(
    r"^(?P<column>\w+)\s*(?P<op>>=|<=|<>|!=|=|>|<)\s*"
    r"(?P<literal>'(?:[^']|'')*'|-?\d+(?:\.\d+)?)$",
    re.DOTALL,
)
_AND = re.compile(r"\s+and\s+(?=(?:[^']*'[^']*')*[^']*$)", re.IGNORECASE)


class SuiteQLError(ValueError):
    """A query the sandbox cannot answer; the message says why."""


@dataclass(frozen=True)
class CompiledQuery:
    sql: str
    count_sql: str
    params: tuple


def compile_query(query: str, conn: sqlite3.Connection) -> CompiledQuery:
    match = _QUERY.match(query or "")
    if not match:
        raise SuiteQLError(
            "Unsupported SuiteQL: expected SELECT <columns> FROM <table> [WHERE ...] [ORDER BY ...]"
        )
    table = match["table"].lower()
    if table not in TABLES:
        raise SuiteQLError(
            f"Unknown table {match['table']!r}; this sandbox serves {sorted(TABLES)}"
        )
    store_table = TABLES[table]
    known = [row["name"] for row in conn.execute(f"pragma table_info({store_table})")]

    def column(name: str) -> str:
        if name.lower() not in known:
            raise SuiteQLError(f"Unknown column {name!r} in table {table!r}")
        return f'"{name.lower()}"'

    raw_columns = match["columns"].strip()
    if raw_columns == "*":
        select = ", ".join(f'"{c}"' for c in known)
    else:
        select = ", ".join(column(c.strip()) for c in raw_columns.split(","))

    where, params = [], []
    if match["where"]:
        for condition in _AND.split(match["where"].strip()):
            cond = _CONDITION.match(condition.strip())
            if not cond:
                raise SuiteQLError(f"Unsupported condition {condition.strip()!r}")
            literal = cond["literal"]
            value = literal[1:-1].replace("''", "'") if literal.startswith("'") else float(literal)
            op = "<>" if cond["op"] == "!=" else cond["op"]
            where.append(f"{column(cond['column'])} {op} ?")
            params.append(value)
    where_sql = f" where {' and '.join(where)}" if where else ""
    order_column = column(match["order"]) if match["order"] else f'"{known[0]}"'
    direction = (match["direction"] or "asc").lower()
    # the primary key breaks ties, so paging is stable whatever the ORDER BY column
    order_sql = f' order by {order_column} {direction}, "{known[0]}" {direction}'
    return CompiledQuery(
        sql=f"select {select} from {store_table}{where_sql}{order_sql} limit ? offset ?",
        count_sql=f"select count(*) from {store_table}{where_sql}",
        params=tuple(params),
    )
