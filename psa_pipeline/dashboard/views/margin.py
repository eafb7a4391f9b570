"""Margin: the waterfall sold → planned → delivered → billed → collected, by practice,
customer and project, down to one project's months."""

import plotly.graph_objects as go
import streamlit as st

from psa_pipeline.dashboard import figures, shell

context, spec = shell.page("margin")
filters = context.filters
period = filters.period
currency = filters.currency
STAGES = [column for _, column in figures.WATERFALL]
PERIOD_COLUMNS = ["period_delivered", "period_billed", "period_margin"]

st.caption(
    f"To the end of **{period.label}**: contract value signed, the plan at completion, and "
    f"what was delivered, billed and collected to date; the period's own figures beside them. "
    f"Amounts in {currency}."
)
by_project = filters.convert(
    figures.margin_to_date(context, filters, period, "project"), STAGES + PERIOD_COLUMNS
)
totals = by_project[STAGES].sum()
labels, measures, values = [], [], []
for index, (label, column) in enumerate(figures.WATERFALL):
    if index:
        labels.append(f"{figures.WATERFALL[index - 1][0]} → {label}")
        measures.append("relative")
        values.append(totals[column] - totals[figures.WATERFALL[index - 1][1]])
    labels.append(label)
    measures.append("absolute" if index == 0 else "total")
    values.append(totals[column])
chart = go.Figure(
    go.Waterfall(
        x=labels,
        measure=measures,
        y=values,
        text=[shell.money(v, currency) for v in values],
        textposition="outside",
        connector={"line": {"color": "#999"}},
    )
)
chart.update_layout(
    title=f"Margin waterfall to the end of {period.label} ({currency})",
    height=440,
    margin={"t": 60, "b": 40},
    yaxis_title=currency,
)
troubled = context.checks(("project_margin_monthly",))
if troubled:
    st.warning(
        f"{shell.WARNING} The waterfall's checks did not all pass: "
        + shell.describe(troubled["project_margin_monthly"])
    )
st.plotly_chart(chart, width="stretch")

columns = [*st.columns(3), *st.columns(3)]
for column, (label, stage) in zip(columns, figures.WATERFALL, strict=False):
    shell.figure(
        column, context, label, shell.money(totals[stage], currency), ("project_margin_monthly",)
    )

config = shell.money_columns(currency, STAGES + PERIOD_COLUMNS)
practice_tab, customer_tab, project_tab = st.tabs(["By practice", "By customer", "By project"])
with practice_tab:
    frame = figures.margin_to_date(context, filters, period, "practice")
    shell.table(
        filters.convert(frame, STAGES + PERIOD_COLUMNS), "margin by practice", column_config=config
    )
with customer_tab:
    frame = figures.margin_to_date(context, filters, period, "customer")
    shell.table(
        filters.convert(frame, STAGES + PERIOD_COLUMNS), "margin by customer", column_config=config
    )
with project_tab:
    shell.table(by_project, "margin by project", column_config=config)

st.subheader("Sold and delivered, by role")
st.caption(
    "What the won deals quoted per role (HubSpot line items) against what each role delivered "
    "to date, on projects quoted by role; fixed fees are quoted as one fee and left out."
)
roles = filters.convert(
    figures.sold_vs_delivered_by_role(context, filters),
    ["sold", "delivered", "sold_less_delivered"],
)
shell.table(
    roles,
    "sold and delivered by role",
    column_config=shell.money_columns(currency, ["sold", "delivered", "sold_less_delivered"]),
)

st.subheader("One project, month by month")
names = figures.project_names(context).set_index("project_code")
codes = by_project["project"].tolist()
if not codes:
    st.info("No project matches the filters.")
    st.stop()
project = st.selectbox(
    "Project",
    codes,
    format_func=lambda code: (
        f"{code} · {names.at[code, 'project_name'] or ''} "
        f"({names.at[code, 'customer_name'] or 'no customer'})"
        if code in names.index
        else code
    ),
    key="margin_project",
)
months = figures.project_months(context, project, period)
money_columns = [
    "sold",
    "planned",
    "delivered",
    "billed",
    "collected",
    "delivered_margin",
    "planned_at_completion",
]
months = filters.convert(months, money_columns)
line = go.Figure()
for column in ("planned", "delivered", "billed", "collected"):
    line.add_trace(go.Bar(x=months["month"], y=months[column], name=column.capitalize()))
line.update_layout(
    barmode="group", height=360, title=f"{project} by month ({currency})", margin={"t": 50}
)
line.update_xaxes(dtick="M1", tickformat="%b %Y")  # a bar per month, named as such
st.plotly_chart(line, width="stretch")
shell.table(
    months,
    f"margin of {project} by month",
    column_config=shell.money_columns(currency, money_columns),
)
