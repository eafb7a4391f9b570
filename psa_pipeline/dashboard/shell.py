"""What every page shares: the context the entry script builds (settings, data source,
publication, filters), the trust banner, figures marked by their checks, downloadable tables.

Nothing here writes anywhere, and nothing shows a setting's value: the pages never print the
settings, which hold the Postgres password.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pandas as pd
import streamlit as st

from psa_pipeline.dashboard.data import DataSource, HeldBack, Publication, TableChecks
from psa_pipeline.dashboard.filters import (
    ALL,
    GRANULARITIES,
    Filters,
    Period,
    periods,
    previous,
)
from psa_pipeline.dashboard.pages import PageSpec, page_specs
from psa_pipeline.settings import DashboardSettings

CONTEXT = "_dashboard"
TABLES_READ = "_dashboard_tables_read"  # page -> marts its queries read (tests compare)
WARNING = "⚠"
NO_PUBLICATION = (
    "No publication yet: the dashboard reads the published copy of the marts, which the "
    "pipeline writes once the marts are built and their checks pass. Run `make demo` to build "
    "the sandbox firm and publish it (or materialise `published_marts` in Dagster), then "
    "reload this page."
)


@dataclass
class Context:
    config: DashboardSettings
    source: DataSource
    publication: Publication | None
    held_back: HeldBack | None
    filters: Filters | None = None
    page: str | None = None

    def query(self, sql: str, params: Sequence = ()) -> pd.DataFrame:
        reads = st.session_state.setdefault(TABLES_READ, {})
        reads.setdefault(self.page or "", set()).update(_marts_in(sql))
        return self.source.query(self.publication, sql, params)

    def checks(self, tables: Sequence[str]) -> dict[str, TableChecks]:
        """The checks behind those tables that did not all pass."""
        found = {t: self.publication.table_checks.get(t) for t in tables}
        return {t: c for t, c in found.items() if c is None or not c.is_clean}


def _marts_in(sql: str) -> set[str]:
    import re

    return set(re.findall(r"\bmarts\.(\w+)", sql))


def start(config: DashboardSettings) -> Context:
    """The entry script's first step: the publication and the sidebar filters."""
    source = DataSource(config.settings)
    publication = source.publication()
    context = Context(config, source, publication, source.held_back())
    st.session_state[CONTEXT] = context
    if publication is not None:
        context.filters = sidebar_filters(context)
    return context


def current() -> Context:
    return st.session_state[CONTEXT]


# ---------- filters


def sidebar_filters(context: Context) -> Filters:
    publication = context.publication
    context.page = "_sidebar"
    choices = context.query(
        "select margin_month as month, bool_and(is_closed) as is_closed "
        "from marts.project_margin_monthly group by 1 order by 1"
    )
    months = [pd.Timestamp(m).date() for m in choices["month"]]
    closed = [m for m, c in zip(months, choices["is_closed"], strict=True) if c]
    as_of_on = publication.as_of_on
    with st.sidebar:
        st.header("Filters")
        granularity = st.radio("Period", GRANULARITIES, horizontal=True, key="granularity")
        options = periods(granularity, months or [as_of_on or date.today()], as_of_on)
        default = _default_period(options, closed[-1] if closed else None)
        period = st.selectbox(
            "Period shown",
            options,
            index=options.index(default),
            format_func=lambda p: p.label,
            key=f"period_{granularity}",
            label_visibility="collapsed",
        )
        entities = context.query(
            "select distinct legal_entity from marts.dim_project "
            "where legal_entity is not null order by 1"
        )["legal_entity"].tolist()
        legal_entity = st.selectbox("Legal entity", [ALL, *entities], key="legal_entity")
        practices = context.query(
            "select distinct practice from marts.dim_project where practice is not null "
            "union select distinct practice from marts.utilization_monthly "
            "where practice is not null order by 1"
        )["practice"].tolist()
        practice = st.selectbox("Practice", [ALL, *practices], key="practice")
        customers = context.query(
            "select customer_id, customer_name from marts.dim_customer "
            "order by customer_name, customer_id"
        )
        names = dict(zip(customers["customer_id"], customers["customer_name"], strict=True))
        customer = st.selectbox(
            "Customer",
            [ALL, *names],
            format_func=lambda c: c if c == ALL else f"{names[c]} ({c})",
            key="customer",
        )
        currencies = sorted(publication.fx_rates, key=lambda c: (c != "USD", c))
        currency = st.selectbox("Currency", currencies, key="currency")
        st.caption(
            f"Amounts in {currency}"
            + (
                ""
                if currency == publication.reporting_currency
                else f", converted from {publication.reporting_currency} at the rate of "
                f"{_day(publication.as_of_on)} "
                f"(1 {currency} = {publication.fx_rates[currency]:.4f} "
                f"{publication.reporting_currency})"
            )
        )
    context.page = None
    return Filters(
        period=period,
        before=previous(period, as_of_on),
        legal_entity=None if legal_entity == ALL else legal_entity,
        practice=None if practice == ALL else practice,
        customer_id=None if customer == ALL else customer,
        customer_name=None if customer == ALL else names[customer],
        currency=currency,
        rate=publication.fx_rates[currency],
    )


def _default_period(options: list[Period], closed_month: date | None) -> Period:
    """The latest period that holds the last month the billing run has closed (a later month
    has work in it that is not billed yet)."""
    if closed_month is None:
        return options[0]
    return next((p for p in options if p.start <= closed_month <= p.end), options[0])


# ---------- the page frame and the trust banner


def page(name: str) -> tuple[Context, PageSpec]:
    """Title and trust banner of a page; stops the page when there is nothing to show."""
    spec = page_specs()[name]
    context = current()
    context.page = name
    st.title(spec.label)
    if context.publication is None:
        st.warning(NO_PUBLICATION, icon=WARNING)
        if context.held_back is not None:
            _held_back(context.held_back)
        st.stop()
    trust_banner(context, spec.tables)
    return context, spec


def trust_banner(context: Context, tables: Sequence[str]) -> None:
    publication = context.publication
    if context.held_back is not None:
        _held_back(context.held_back)
    stamp = (
        f"Data as of **{_day(publication.as_of_on)}** · published "
        f"**{publication.published_at:%Y-%m-%d %H:%M} UTC**"
    )
    troubled = context.checks(tables)
    if not troubled:
        st.success(
            f"{stamp} · every check behind this page's {len(tables)} tables passed",
            icon=":material/verified:",
        )
        return
    lines = [f"{stamp} · **not every check behind this page's tables passed**:"]
    for table, checks in troubled.items():
        lines.append(f"- {table}: {describe(checks)}")
    if publication.failed_checks:
        lines.append("- failed: " + ", ".join(publication.failed_checks[:20]))
    if publication.unevaluated_checks:
        lines.append("- not evaluated: " + ", ".join(publication.unevaluated_checks[:20]))
    st.warning("\n".join(lines), icon=WARNING)


def describe(checks: TableChecks | None) -> str:
    if checks is None:
        return "no checks were published for it"
    parts = []
    if checks.warned:
        parts.append(f"{checks.warned} warned ({', '.join(checks.warned_checks)})")
    if checks.failed:
        parts.append(f"{checks.failed} failed")
    if checks.not_evaluated:
        parts.append(f"{checks.not_evaluated} not evaluated")
    return f"{'; '.join(parts)} of {checks.total} checks"


def _held_back(held_back: HeldBack) -> None:
    reasons = "\n".join(f"- {reason}" for reason in held_back.reasons[:20]) or "- (no reason given)"
    st.error(
        f"**Newer figures were held back** (run {held_back.run_id}, {held_back.held_back_at}): "
        f"these are the figures of the last good publication. Why:\n{reasons}",
        icon=":material/block:",
    )


def _day(value: date | None) -> str:
    return value.strftime("%d %b %Y") if value else "unknown"


def not_filtered(filters: Filters, what: str, **applies: bool) -> None:
    """Say when a chosen filter cannot narrow a table, rather than let it seem to."""
    unapplied = filters.unapplied(**applies)
    if unapplied:
        st.caption(f"{what} is not filtered by {' or '.join(unapplied)}.")


# ---------- figures


def money(value: Decimal | float | None, currency: str) -> str:
    if value is None or pd.isna(value):
        return "–"
    return f"{currency} {Decimal(str(value)):,.0f}"


def share(value: Decimal | float | None) -> str:
    if value is None or pd.isna(value):
        return "–"
    return f"{float(value):.1%}"


def days(value: Decimal | float | None) -> str:
    if value is None or pd.isna(value):
        return "–"
    return f"{float(value):,.0f} days"


def ratio(numerator, denominator) -> Decimal | None:
    if numerator is None or denominator is None or pd.isna(numerator) or pd.isna(denominator):
        return None
    if Decimal(str(denominator)) == 0:
        return None
    return Decimal(str(numerator)) / Decimal(str(denominator))


def figure(
    column,
    context: Context,
    label: str,
    value: str,
    tables: Sequence[str],
    delta: str | None = None,
    help: str | None = None,
    delta_color: str = "normal",
) -> None:
    """A headline figure, marked ⚠ with its checks' names when any check behind it did not
    pass."""
    troubled = context.checks(tables)
    notes = [help] if help else []
    if troubled:
        label = f"{WARNING} {label}"
        notes += [f"Checks behind {t}: {describe(c)}" for t, c in troubled.items()]
    column.metric(
        label,
        value,
        delta=delta,
        help="\n\n".join(notes) or None,
        delta_color=delta_color,
        border=True,
    )


def change(now, before, formatter) -> str | None:
    """The change against the period before, formatted like the figure."""
    if now is None or before is None or pd.isna(now) or pd.isna(before):
        return None
    difference = Decimal(str(now)) - Decimal(str(before))
    # the sign leads, so that Streamlit draws a fall as a fall
    return ("-" if difference < 0 else "+") + formatter(abs(difference))


def table(
    frame: pd.DataFrame, name: str, *, column_config: dict | None = None, height: int | None = None
) -> None:
    """A table, and a button that downloads it as CSV. Date columns (DuckDB's DATE arrives as
    a midnight timestamp) show as dates."""
    column_config = {**_date_columns(frame), **(column_config or {})}
    st.dataframe(frame, hide_index=True, column_config=column_config, height=height or "auto")
    st.download_button(
        f"Download {name} (CSV)",
        frame.to_csv(index=False).encode(),
        file_name=f"{name.replace(' ', '_')}.csv",
        mime="text/csv",
        key=f"download_{name}",
        icon=":material/download:",
    )


def _date_columns(frame: pd.DataFrame) -> dict:
    dates = {}
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_datetime64_any_dtype(column) and column.dt.tz is None:
            if (column.dropna() == column.dropna().dt.normalize()).all():
                dates[name] = st.column_config.DateColumn(name, format="YYYY-MM-DD")
    return dates


def money_columns(currency: str, columns: Sequence[str]) -> dict:
    return {c: st.column_config.NumberColumn(c, format="%,.0f", help=currency) for c in columns}


def share_column(label: str, maximum: float = 1.0) -> st.column_config.ProgressColumn:
    """A ratio shown as a percentage bar (up to `maximum`: utilization can pass 100%)."""
    return st.column_config.ProgressColumn(label, format="percent", min_value=0, max_value=maximum)
