"""Overview: the period's headline figures against the period before."""

import pandas as pd
import streamlit as st

from psa_pipeline.dashboard import figures, shell

context, spec = shell.page("overview")
filters = context.filters
period, before = filters.period, filters.before
now = figures.headline(context, filters, period)
then = figures.headline(context, filters, before)
wip = figures.wip_total(context, filters)
as_of = context.publication.as_of_on


def money(value):
    return shell.money(value, filters.currency)


def points(value):
    return f"{float(value) * 100:.1f} pp"


def amount(name):
    return lambda headline: filters.money(getattr(headline, name))


MARGIN, BACKLOG = ("project_margin_monthly",), ("backlog_monthly",)
UTILIZATION, LEAKAGE = ("utilization_practice_monthly",), ("revenue_leakage",)
# label, value of a period's headline, format, format of the change, tables behind, meaning
FIGURES = (
    (
        "Sold (bookings)",
        amount("sold"),
        money,
        money,
        MARGIN,
        "Contract value signed in the period (the latest contract versions), at the rate of the "
        "period's end.",
    ),
    (
        "Backlog",
        amount("backlog"),
        money,
        money,
        BACKLOG,
        "Sold less delivered to date at the period's end, never below zero.",
    ),
    (
        "Delivered",
        amount("delivered"),
        money,
        money,
        MARGIN,
        "Approved billable time at the contract rates in force.",
    ),
    (
        "Billed",
        amount("billed"),
        money,
        money,
        MARGIN,
        "ERP invoice lines less credit memos, in the month they bill.",
    ),
    ("Collected", amount("collected"), money, money, MARGIN, "Payments received in the period."),
    (
        "Gross margin %",
        lambda h: h.gross_margin,
        shell.share,
        points,
        MARGIN,
        "(Delivered − cost of the hours at HR's cost rates) / delivered.",
    ),
    ("Realization", lambda h: h.realization, shell.share, points, MARGIN, "Billed / delivered."),
    (
        "Utilization",
        lambda h: h.utilization,
        shell.share,
        points,
        UTILIZATION,
        "Billable hours / available hours (capacity less time off) of the practice's consultants.",
    ),
    (
        "DSO",
        lambda h: h.dso,
        shell.days,
        shell.days,
        MARGIN,
        "Days sales outstanding: billed not yet collected at the period's end, in days of the "
        "period's billing.",
    ),
    (
        "Open leakage",
        amount("open_leakage"),
        money,
        money,
        LEAKAGE,
        "Revenue leakage found up to the period's end whose correction is not in the ERP yet "
        "(not yet pushed, pending, dead letter, or needing a person).",
    ),
)

st.caption(
    f"**{period.label}** against **{before.label}**"
    + "".join(
        f" · {name}: **{value}**"
        for name, value in (
            ("legal entity", filters.legal_entity),
            ("practice", filters.practice),
            ("customer", filters.customer_name),
        )
        if value
    )
    + f" · amounts in {filters.currency}"
)
columns = st.columns(4)
for index, (label, value_of, show, show_change, tables, meaning) in enumerate(FIGURES):
    value = value_of(now)
    inverse = label in ("DSO", "Open leakage")
    shell.figure(
        columns[index % 4],
        context,
        label,
        show(value),
        tables,
        delta=shell.change(value, value_of(then), show_change),
        help=meaning,
        delta_color="inverse" if inverse else "normal",
    )
shell.figure(
    columns[len(FIGURES) % 4],
    context,
    "Unbilled WIP",
    money(filters.money(wip)),
    ("unbilled_wip",),
    help=f"Approved billable work not yet invoiced, as of {as_of:%d %b %Y} (not a period "
    "figure, so no change is shown).",
)
shell.not_filtered(filters, "Utilization", practice=True)

st.subheader("The figures")
shell.table(
    pd.DataFrame(
        [
            {
                "figure": label,
                period.label: show(value_of(now)),
                before.label: show(value_of(then)),
                "tables": ", ".join(tables),
            }
            for label, value_of, show, _, tables, _ in FIGURES
        ]
        + [
            {
                "figure": "Unbilled WIP",
                period.label: money(filters.money(wip)),
                before.label: None,
                "tables": "unbilled_wip",
            }
        ]
    ),
    "headline figures",
)
