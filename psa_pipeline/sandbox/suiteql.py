"""The sandbox ERP's SuiteQL: NetSuite's query language, answered from the store.

Connectors read NetSuite in bulk through SuiteQL, so the sandbox answers what a real connector
sends: joins, `IN` lists and sub-queries, `TO_CHAR`, `TO_DATE` / `TO_TIMESTAMP`,
`SYS_EXTRACT_UTC` and `BUILTIN.DF`. A query is parsed with sqlglot (as Oracle SQL, which SuiteQL
is modelled on), checked against the records and fields the sandbox serves, and translated to
SQLite over the store's `suiteql_<record>` views, which hold each record as SuiteQL shows it (ids
for list fields, `T`/`F` flags, posting signs on lines). What SuiteQL does on the way out is done
here too:

- a date or date-time field selected as it is comes back in the account's date format
  preference, the time dropped (`3/14/2024` under NetSuite's default `M/D/YYYY`), as PostHog's
  NetSuite source documents ("SuiteQL formats datetimes with the user's date preference and drops
  the time", PostHog/posthog .../sources/netsuite/netsuite.py); `TO_CHAR` formats it as asked;
- a string compared with a date field is read in the account's format (Oracle's implicit
  conversion), so an ISO string on an account that writes `3/14/2024` is refused, as it would be;
- an unknown record or field, or one the role may not see, is refused with NetSuite's words
  (`Search error occurred: Record 'customer' was not found.`).

The sandbox's user time zone is UTC: `SYS_EXTRACT_UTC` changes nothing, and the store's
timestamps are UTC instants already.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime

import sqlglot
from sqlglot import exp
from sqlglot.errors import OptimizeError, ParseError, SqlglotError
from sqlglot.optimizer.qualify import qualify

# Each record SuiteQL serves here, its fields and their kinds (how they are shown and compared):
# id (an internal id), text, flag ('T'/'F'), number (a decimal as text), date, datetime.
TABLES: dict[str, dict[str, str]] = {
    "subsidiary": {
        "id": "id",
        "name": "text",
        "currency": "id",
        "country": "text",
        "isinactive": "flag",
    },
    "currency": {
        "id": "id",
        "name": "text",
        "symbol": "text",
        "displaysymbol": "text",
        "isbasecurrency": "flag",
        "isinactive": "flag",
        "lastmodifieddate": "datetime",
    },
    "item": {"id": "id", "itemid": "text", "displayname": "text", "isinactive": "flag"},
    "customer": {
        "id": "id",
        "entityid": "text",
        "companyname": "text",
        "externalid": "text",
        "parent": "id",
        "subsidiary": "id",
        "currency": "id",
        "url": "text",
        "isperson": "flag",
        "isinactive": "flag",
        "datecreated": "datetime",
        "lastmodifieddate": "datetime",
    },
    "job": {
        "id": "id",
        "entityid": "text",
        "companyname": "text",
        "externalid": "text",
        "parent": "id",
        "subsidiary": "id",
        "currency": "id",
        "startdate": "date",
        "projectedenddate": "date",
        "entitystatus": "id",
        "isinactive": "flag",
        "datecreated": "datetime",
        "lastmodifieddate": "datetime",
    },
    "transaction": {
        "id": "id",
        "tranid": "text",
        "type": "text",
        "externalid": "text",
        "entity": "id",
        "trandate": "date",
        "duedate": "date",
        "currency": "id",
        "status": "text",
        "memo": "text",
        "custbody_project_code": "text",
        "foreigntotal": "number",
        "createddate": "datetime",
        "lastmodifieddate": "datetime",
    },
    "transactionline": {
        "uniquekey": "id",
        "transaction": "id",
        "id": "id",
        "linesequencenumber": "id",
        "mainline": "flag",
        "taxline": "flag",
        "item": "id",
        "memo": "text",
        "quantity": "number",
        "rate": "number",
        "foreignamount": "number",
        "createdfrom": "id",
        "custcol_time_entry_id": "id",
        "custcol_expense_id": "id",
        "custcol_milestone_id": "id",
        "custcol_psa_correction_id": "text",
        "linelastmodifieddate": "datetime",
    },
    "previoustransactionlink": {
        "previousdoc": "id",
        "nextdoc": "id",
        "linktype": "text",
        "foreignamount": "number",
        "previoustype": "text",
        "nexttype": "text",
    },
    "currencyrate": {
        "id": "id",
        "basecurrency": "id",
        "transactioncurrency": "id",
        "exchangerate": "number",
        "effectivedate": "date",
        "lastmodifieddate": "datetime",
    },
}
DATE_KINDS = ("date", "datetime")
# BUILTIN.DF(<field>): the display name of the record a list field points at
DISPLAYED = {
    "currency": ("currency", "name"),
    "basecurrency": ("currency", "name"),
    "transactioncurrency": ("currency", "name"),
    "subsidiary": ("subsidiary", "name"),
    "entity": ("customer", "companyname"),
    "parent": ("customer", "companyname"),
    "item": ("item", "itemid"),
    "entitystatus": ("jobstatus", "name"),
}
# The account's date format preference (Setup > Company > General Preferences): the ones a
# tenant can choose that this sandbox can show; NetSuite's default is M/D/YYYY.
DATE_FORMATS = ("M/D/YYYY", "MM/DD/YYYY", "D/M/YYYY", "DD/MM/YYYY", "DD.MM.YYYY", "YYYY-MM-DD")
DEFAULT_DATE_FORMAT = "M/D/YYYY"


class SuiteQLError(ValueError):
    """A query NetSuite would refuse; the message is what NetSuite says after "Search error
    occurred:"."""


@dataclass(frozen=True)
class CompiledQuery:
    sql: str  # SQLite over the suiteql_<record> views, without paging
    records: frozenset[str]  # the SuiteQL records the query reads (for role permissions)

    @property
    def count_sql(self) -> str:
        return f"select count(*) from ({self.sql})"

    @property
    def page_sql(self) -> str:
        return f"{self.sql} limit ? offset ?"


def compile_query(query: str, date_format: str = DEFAULT_DATE_FORMAT) -> CompiledQuery:
    """SuiteQL -> SQLite, or SuiteQLError with NetSuite's reason."""
    tree = _parse(query)
    records = frozenset(table.name.lower() for table in tree.find_all(exp.Table))
    for record in sorted(records):
        if record not in TABLES:
            raise SuiteQLError(f"Record '{record}' was not found.")
    try:
        tree = qualify(
            tree,
            schema={name: dict.fromkeys(fields, "TEXT") for name, fields in TABLES.items()},
            dialect="oracle",
            validate_qualify_columns=True,
            quote_identifiers=False,
        )
    except OptimizeError as error:
        field = re.search(r"Column '([^']+)'", str(error))
        if field is None:
            raise SuiteQLError(f"Failed to parse SQL: {error}") from error
        raise SuiteQLError(f"Field '{field[1].lower()}' was not found.") from error
    for identifier in tree.find_all(exp.Identifier):
        identifier.set("this", identifier.name.lower())
    tree = tree.transform(lambda node: _resolve(node, date_format))
    _show_dates(tree, date_format)
    tree = tree.transform(_as_sqlite_function)
    for table in tree.find_all(exp.Table):
        table.set("this", exp.to_identifier(f"suiteql_{table.name}"))
    return CompiledQuery(tree.sql(dialect="sqlite", identify=True), records)


def _parse(query: str) -> exp.Select:
    text = re.sub(r"\bBUILTIN\.DF\s*\(", "BUILTIN_DF(", query or "", flags=re.IGNORECASE)
    try:
        statements = [s for s in sqlglot.parse(text, read="oracle") if s is not None]
    except ParseError as error:
        raise SuiteQLError(f"Failed to parse SQL: {error.errors[0]['description']}") from error
    except SqlglotError as error:  # a tokenizer error: text that is no SQL at all
        raise SuiteQLError(f"Failed to parse SQL: {error}") from error
    if len(statements) != 1 or not isinstance(statements[0], exp.Select):
        raise SuiteQLError("Only one SELECT statement can be run as a query.")
    return statements[0]


def _field_of(node: exp.Expression) -> tuple[str, str] | None:
    """(record, field) of a qualified column, resolving its table alias."""
    if not isinstance(node, exp.Column) or not node.table:
        return None
    select = node.find_ancestor(exp.Select)
    while select is not None:
        for table in select.find_all(exp.Table):
            if table.alias_or_name == node.table and table.find_ancestor(exp.Select) is select:
                return table.name, node.name
        select = select.find_ancestor(exp.Select)
    return None


def _kind(node: exp.Expression) -> str | None:
    field = _field_of(node)
    return TABLES.get(field[0], {}).get(field[1]) if field else None


COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)


def _resolve(node: exp.Expression, date_format: str) -> exp.Expression:
    """SuiteQL's own functions and conversions, resolved against the store: SYS_EXTRACT_UTC
    (the store is UTC), BUILTIN.DF, and strings compared with date fields."""
    if isinstance(node, exp.Anonymous) and node.name.upper() == "SYS_EXTRACT_UTC":
        return node.expressions[0]
    if isinstance(node, exp.Anonymous) and node.name.upper() == "BUILTIN_DF":
        return _display_name(node.expressions[0])
    if isinstance(node, COMPARISONS):
        for side, other in (("this", "expression"), ("expression", "this")):
            literal = node.args[other]
            if _kind(node.args[side]) in DATE_KINDS and isinstance(literal, exp.Literal):
                if literal.is_string:
                    node.set(other, exp.Literal.string(_implicit_date(literal.name, date_format)))
    return node


def _as_sqlite_function(node: exp.Expression) -> exp.Expression:
    """TO_CHAR, TO_DATE and TO_TIMESTAMP as the functions `register_functions` gives SQLite."""
    if isinstance(node, exp.ToChar):
        return exp.Anonymous(this="ns_to_char", expressions=[node.this, node.args["format"]])
    if isinstance(node, exp.StrToTime | exp.StrToDate):
        python_format = node.args["format"].name.replace('"', "")
        return exp.Anonymous(
            this="ns_to_instant", expressions=[node.this, exp.Literal.string(python_format)]
        )
    return node


def _display_name(column: exp.Expression) -> exp.Expression:
    field = _field_of(column)
    if field is None or field[1] not in DISPLAYED:
        return column  # a text field shows itself
    record, name = DISPLAYED[field[1]]
    return exp.Subquery(
        this=exp.select(exp.column(name, "shown"))
        .from_(exp.to_table(record).as_("shown"))
        .where(exp.column("id", "shown").eq(column.copy()))
    )


def _show_dates(tree: exp.Select, date_format: str) -> None:
    """Dates selected as they are come back in the account's format, without their time."""
    for index, projection in enumerate(tree.expressions):
        inner = projection.this if isinstance(projection, exp.Alias) else projection
        if _kind(inner) in DATE_KINDS:
            shown = exp.Anonymous(
                this="ns_account_date",
                expressions=[inner.copy(), exp.Literal.string(date_format)],
            )
            tree.expressions[index] = exp.alias_(shown, projection.alias_or_name)


# ------------------------------------------------------------------ functions SQLite runs


def register_functions(conn: sqlite3.Connection) -> None:
    conn.create_function("ns_to_char", 2, to_char, deterministic=True)
    conn.create_function("ns_to_instant", 2, to_instant, deterministic=True)
    conn.create_function("ns_account_date", 2, account_date, deterministic=True)


def _moment(value) -> datetime | None:
    """A stored date ('2026-03-14') or UTC timestamp ('2026-03-14T10:00:00Z')."""
    if value is None:
        return None
    text = str(value)
    return datetime.fromisoformat(text.replace("Z", "+00:00")[:19] if "T" in text else text)


ORACLE_TOKENS = (  # Oracle datetime format elements -> strftime, longest first
    ("YYYY", "%Y"),
    ("HH24", "%H"),
    ("HH12", "%I"),
    ("HH", "%I"),
    ("MI", "%M"),
    ("SS", "%S"),
    ("MM", "%m"),
    ("DD", "%d"),
    ("AM", "%p"),
    ("PM", "%p"),
)


def _strftime_format(oracle_format: str) -> str:
    out, rest = [], oracle_format
    while rest:
        if rest[0] == '"':
            literal, _, rest = rest[1:].partition('"')
            out.append(literal.replace("%", "%%"))
            continue
        for token, directive in ORACLE_TOKENS:
            if rest.upper().startswith(token):
                out.append(directive)
                rest = rest[len(token) :]
                break
        else:
            out.append(rest[0].replace("%", "%%"))
            rest = rest[1:]
    return "".join(out)


def to_char(value, oracle_format: str) -> str | None:
    """TO_CHAR(date, format): the date as the format says (Oracle's format elements)."""
    moment = _moment(value)
    return None if moment is None else moment.strftime(_strftime_format(oracle_format))


def to_instant(text, python_format: str) -> str | None:
    """TO_DATE / TO_TIMESTAMP: the moment as the store writes it (a date at midnight as a date,
    so it compares with date fields and timestamps alike)."""
    if text is None:
        return None
    try:
        moment = datetime.strptime(str(text), python_format)
    except ValueError as error:
        raise sqlite3.DataError(f"'{text}' does not match the format: {error}") from error
    if moment.time() == datetime.min.time():
        return moment.date().isoformat()
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def account_date(value, date_format: str) -> str | None:
    """A date as the account shows it: `3/14/2024` for M/D/YYYY, the time dropped."""
    moment = _moment(value)
    if moment is None:
        return None
    parts = {
        "YYYY": f"{moment.year:04d}",
        "MM": f"{moment.month:02d}",
        "DD": f"{moment.day:02d}",
        "M": str(moment.month),
        "D": str(moment.day),
    }
    return re.sub("YYYY|MM|DD|M|D", lambda token: parts[token[0]], date_format)


def _implicit_date(text: str, date_format: str) -> str:
    """A string compared with a date field, read in the account's date format (as Oracle's
    implicit conversion does), or refused."""
    groups = {"YYYY": r"(?P<y>\d{4})", "MM": r"(?P<m>\d{2})", "DD": r"(?P<d>\d{2})"}
    groups |= {"M": r"(?P<m>\d{1,2})", "D": r"(?P<d>\d{1,2})"}
    pattern = "".join(
        groups.get(part, re.escape(part)) for part in re.split("(YYYY|MM|DD|M|D)", date_format)
    )
    match = re.fullmatch(pattern, text.strip())
    try:
        if match is None:
            raise ValueError(text)
        return date(int(match["y"]), int(match["m"]), int(match["d"])).isoformat()
    except ValueError:
        raise SuiteQLError(
            f"Invalid date value '{text}': dates must be in the format {date_format} "
            "(the account's date format), or converted with TO_DATE."
        ) from None
