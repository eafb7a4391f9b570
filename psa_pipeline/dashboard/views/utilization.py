"""Utilization and realization: by practice and consultant over months, against a target."""

import plotly.graph_objects as go
import streamlit as st

from psa_pipeline.dashboard import figures, shell

context, spec = shell.page("utilization")
filters = context.filters
period = filters.period
target = context.config.utilization_target

st.caption(
    f"Utilization is billable hours over available hours (capacity less time off), against a "
    f"target of **{target:.0%}** (PSA_DASHBOARD_UTILIZATION_TARGET). Realization is billed over "
    f"delivered value. Months up to the end of **{period.label}**."
)
practices = figures.utilization_by_practice(context, filters, period)
in_period = practices[
    (practices["month"].dt.date >= period.start) & (practices["month"].dt.date <= period.end)
]
utilization = shell.ratio(in_period["billable_hours"].sum(), in_period["available_hours"].sum())
realization = figures.realization_by_practice(context, filters, period)
realized = realization[
    (realization["month"].dt.date >= period.start) & (realization["month"].dt.date <= period.end)
]
columns = st.columns(3)
shell.figure(
    columns[0],
    context,
    f"Utilization, {period.label}",
    shell.share(utilization),
    ("utilization_practice_monthly",),
    delta=None
    if utilization is None
    else f"{(float(utilization) - target) * 100:+.1f} pp vs target",
)
shell.figure(columns[1], context, "Target", f"{target:.0%}", ())
shell.figure(
    columns[2],
    context,
    f"Realization, {period.label}",
    shell.share(shell.ratio(realized["billed"].sum(), realized["delivered"].sum())),
    ("project_margin_monthly",),
)
shell.not_filtered(filters, "Utilization (a consultant's, not a project's)", practice=True)

chart = go.Figure(
    [
        go.Scatter(
            x=group["month"], y=group["utilization_ratio"], mode="lines+markers", name=practice
        )
        for practice, group in practices.groupby("practice")
    ]
)
chart.add_hline(y=target, line_dash="dash", annotation_text=f"target {target:.0%}")
chart.update_layout(
    height=360, title="Utilization by practice", yaxis_tickformat=".0%", margin={"t": 50}
)
st.plotly_chart(chart, width="stretch")
shell.table(practices, "utilization by practice and month")

st.subheader(f"Consultants, {period.label}")
consultants = figures.utilization_by_consultant(context, filters, period)
shell.table(
    consultants,
    "utilization by consultant",
    column_config={"utilization_ratio": shell.share_column("utilization", maximum=1.2)},
)

st.subheader("Realization by practice")
realization = filters.convert(realization, ["delivered", "billed"])
chart = go.Figure(
    [
        go.Scatter(x=group["month"], y=group["realization_ratio"], mode="lines", name=practice)
        for practice, group in realization.groupby("practice")
    ]
)
chart.update_layout(height=320, yaxis_tickformat=".0%", margin={"t": 30})
st.plotly_chart(chart, width="stretch")
shell.table(
    realization,
    "realization by practice and month",
    column_config=shell.money_columns(filters.currency, ["delivered", "billed"]),
)

st.subheader(f"Billable work by task, {period.label}")
shell.not_filtered(filters, "Work by task", practice=True, legal_entity=True)
tasks = filters.convert(
    figures.billable_work_by_task(context, filters, period), ["delivered", "billed"]
)
shell.table(
    tasks,
    "billable work by task",
    column_config={
        **shell.money_columns(filters.currency, ["delivered", "billed"]),
        "billable_ratio": shell.share_column("billable share"),
    },
)
