"""Where the dashboard's figures come from, so that no page knows.

The publication (psa_pipeline/dashboard/publish.py) is a DuckDB file swapped into place
atomically; every read opens it read-only for one query and closes it, so the next publication
is never kept waiting and a reader never sees half of one. On a DuckDB warehouse the marts and
the sync ledger are read from that file; on Postgres they are read from the warehouse on a
read-only session, and the file holds only the publication's own facts (`publication.*`).

Results are cached per publication: the cache key carries the publication's `published_at`,
so a new publication shows at the next page load, without a restart.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import streamlit as st

from psa_pipeline.settings import HELD_BACK, PUBLISHED_SCHEMAS, Settings

CACHE_ENTRIES = 512


@dataclass(frozen=True)
class TableChecks:
    """The checks behind one mart, as published (publication.table_checks)."""

    table_name: str
    total: int
    passed: int
    warned: int
    failed: int
    not_evaluated: int
    warned_checks: tuple[str, ...]

    @property
    def is_clean(self) -> bool:
        return self.total == self.passed


@dataclass(frozen=True)
class Publication:
    published_at: datetime
    as_of_on: date | None
    as_of_month: date | None
    run_id: str
    warehouse: str
    reporting_currency: str
    fx_rates: dict[str, Decimal]  # units of the reporting currency one unit of each buys
    table_checks: dict[str, TableChecks]
    # checks that did not pass, with their asset (`<asset>:<check>`), by status
    failed_checks: tuple[str, ...] = ()
    unevaluated_checks: tuple[str, ...] = ()
    checks_total: int = 0

    @property
    def version(self) -> str:
        return self.published_at.isoformat()


@dataclass(frozen=True)
class HeldBack:
    held_back_at: str
    run_id: str
    reasons: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class DataSource:
    """The published file, and the warehouse the marts are read from."""

    settings: Settings

    @property
    def published_path(self) -> Path:
        return self.settings.published_path

    def publication(self) -> Publication | None:
        """The current publication, or None before the first one."""
        path = self.published_path
        try:
            stat = path.stat()
        except FileNotFoundError:
            return None
        return _publication(str(path), (stat.st_ino, stat.st_mtime_ns, stat.st_size))

    def held_back(self) -> HeldBack | None:
        """Why newer figures than these were not published, if they were not."""
        path = self.published_path.with_name(HELD_BACK)
        try:
            body = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except ValueError:
            return HeldBack("unknown", "unknown", ("held_back.json could not be read",))
        return HeldBack(
            held_back_at=str(body.get("held_back_at", "")),
            run_id=str(body.get("run_id", "")),
            reasons=tuple(str(r) for r in body.get("reasons") or ()),
        )

    def query(self, publication: Publication, sql: str, params: Sequence = ()) -> pd.DataFrame:
        """Rows of a read-only query over `marts.*` / `reverse_sync.*` (`?` placeholders, SQL
        that DuckDB and Postgres both speak), cached for this publication."""
        where = self.settings.warehouse if _reads_warehouse(sql) else "duckdb"
        return _query(
            where, str(self.published_path), sql, tuple(params), publication.version, self.settings
        )

    def has_tables(self, publication: Publication, tables: Sequence[str]) -> bool:
        """Whether the warehouse holds these tables (`schema.table`): the sync's ledger exists
        from the first sync on."""
        found = _query(
            self.settings.warehouse,
            str(self.published_path),
            "select table_schema || '.' || table_name as name from information_schema.tables "
            "where table_schema in ('marts', 'reverse_sync')",
            (),
            publication.version,
            self.settings,
        )
        return set(tables) <= set(found["name"])


def _reads_warehouse(sql: str) -> bool:
    return any(re.search(rf"\b{schema}\.", sql) for schema in PUBLISHED_SCHEMAS)


@st.cache_data(max_entries=CACHE_ENTRIES, show_spinner=False)
def _query(
    where: str, path: str, sql: str, params: tuple, version: str, _settings: Settings
) -> pd.DataFrame:
    if where == "postgres":
        from psa_pipeline.warehouse import PostgresReader  # Postgres only: the driver is heavy

        # psycopg2's placeholder is %s, and a literal % is written %%
        pg_sql = sql.replace("%", "%%").replace("?", "%s")
        with PostgresReader.connect(_settings.postgres) as reader:
            return reader.execute(pg_sql, params or None).df()
    with duckdb.connect(path, read_only=True) as conn:
        return conn.execute(sql, list(params)).df()


@st.cache_data(max_entries=16, show_spinner=False)
def _publication(path: str, _stat: tuple) -> Publication | None:
    with duckdb.connect(path, read_only=True) as conn:
        info = conn.execute(
            "select published_at, as_of_on, as_of_month, run_id, warehouse, reporting_currency "
            "from publication.info"
        ).fetchone()
        if info is None:
            return None
        rates = conn.execute("select currency, fx_rate from publication.fx_rates").fetchall()
        tables = conn.execute(
            "select table_name, checks_total, checks_passed, checks_warned, checks_failed, "
            "checks_not_evaluated, warned_checks from publication.table_checks"
        ).fetchall()
        unsettled = conn.execute(
            "select status, asset_key || ':' || check_name from publication.checks "
            "where status in ('failed', 'not_evaluated') order by 2"
        ).fetchall()
        (checks_total,) = conn.execute("select count(*) from publication.checks").fetchone()
    reporting_currency = info[5] or "USD"
    return Publication(
        published_at=info[0],
        as_of_on=info[1],
        as_of_month=info[2],
        run_id=info[3],
        warehouse=info[4],
        reporting_currency=reporting_currency,
        fx_rates={reporting_currency: Decimal(1)} | {c: Decimal(r) for c, r in rates},
        table_checks={
            row[0]: TableChecks(
                *row[:6], tuple(n.strip() for n in (row[6] or "").split(",") if n.strip())
            )
            for row in tables
        },
        failed_checks=tuple(name for status, name in unsettled if status == "failed"),
        unevaluated_checks=tuple(name for status, name in unsettled if status == "not_evaluated"),
        checks_total=checks_total,
    )
