"""Backlog: scheduled and unscheduled, by month, practice and customer."""

import plotly.graph_objects as go
import streamlit as st

from psa_pipeline.dashboard import figures, shell

context, spec = shell.page("backlog")
filters = context.filters
period = filters.period
currency = filters.currency
AMOUNTS = ["scheduled", "unscheduled", "backlog"]

st.caption(
    f"Backlog is sold less delivered to date at each month's end: **scheduled** where the PSA's "
    f"plan covers it after that day, **unscheduled** where no one is planned to deliver it. "
    f"Past months are read against today's plan. Amounts in {currency}."
)
by_month = filters.convert(
    figures.backlog_by_month(context, filters, period), AMOUNTS + ["overrun"]
)
at_end = by_month[by_month["month"].dt.date == period.end] if len(by_month) else by_month
end_row = at_end.iloc[0] if len(at_end) else None
columns = st.columns(3)
for column, name in zip(columns, AMOUNTS, strict=True):
    value = None if end_row is None else end_row[name]
    shell.figure(
        column,
        context,
        f"{name.capitalize()} at the end of {period.label}",
        shell.money(value, currency),
        ("backlog_monthly",),
    )
chart = go.Figure(
    [
        go.Bar(x=by_month["month"], y=by_month["scheduled"], name="Scheduled"),
        go.Bar(x=by_month["month"], y=by_month["unscheduled"], name="Unscheduled"),
    ]
)
chart.update_layout(
    barmode="stack", height=380, title=f"Backlog at each month's end ({currency})", margin={"t": 50}
)
st.plotly_chart(chart, width="stretch")
config = shell.money_columns(currency, AMOUNTS + ["overrun"])
shell.table(by_month, "backlog by month", column_config=config)
st.subheader("Today's backlog by month ahead")
ahead = filters.convert(
    figures.backlog_ahead(context, filters), ["scheduled", "remaining", "unscheduled"]
)
as_of = context.publication.as_of_on
st.caption(
    f"The backlog at the as-of date ({as_of}) laid out over the months ahead: what the PSA's plan "
    f"delivers in each month, and what is left at each month's end. What is left after the last "
    f"planned month is the **unscheduled** part, sold with no one planned to deliver it. The "
    f"period filter does not apply: this is today's backlog against today's plan."
)
ahead_chart = go.Figure(
    [
        go.Bar(x=ahead["month"], y=ahead["scheduled"], name="Scheduled in the month"),
        go.Scatter(
            x=ahead["month"],
            y=ahead["remaining"],
            name="Left at the month's end",
            mode="lines+markers",
        ),
        go.Scatter(
            x=ahead["month"],
            y=ahead["unscheduled"],
            name="Unscheduled",
            mode="lines",
            line={"dash": "dot"},
        ),
    ]
)
ahead_chart.update_layout(
    height=380, title=f"Backlog by month ahead ({currency})", margin={"t": 50}
)
st.plotly_chart(ahead_chart, width="stretch")
shell.table(
    ahead,
    "backlog by month ahead",
    column_config=shell.money_columns(currency, ["scheduled", "remaining", "unscheduled"]),
)
practice_tab, customer_tab = st.tabs(["By practice", "By customer"])
with practice_tab:
    frame = filters.convert(figures.backlog_by(context, filters, period, "practice"), AMOUNTS)
    shell.table(frame, "backlog by practice", column_config=config)
with customer_tab:
    frame = filters.convert(figures.backlog_by(context, filters, period, "customer"), AMOUNTS)
    shell.table(frame, "backlog by customer", column_config=config)
