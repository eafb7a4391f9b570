"""Integration health: quote → project and time → bill latency, invoice exceptions, unmatched
records, and the ERP sync's writes and dead letters."""

import plotly.graph_objects as go
import streamlit as st

from psa_pipeline.dashboard import figures, shell

context, spec = shell.page("integration_health")
filters = context.filters
period = filters.period
HEALTH, REVIEW = ("integration_health",), ("identity_match_review",)

st.caption(
    f"How well the systems hand work to each other, by the month the measured event started, "
    f"up to the end of **{period.label}**."
)
shell.not_filtered(filters, "Integration health (measured per system)")
metrics = figures.health_metrics(
    context,
    period,
    (
        "quote_to_project_days",
        "time_to_bill_days",
        "invoice_exception_rate",
        "unmatched_records",
    ),
)
in_period = metrics[
    (metrics["month"].dt.date >= period.start) & (metrics["month"].dt.date <= period.end)
]


def weighted(name):
    rows = in_period[in_period["metric_name"] == name]
    return shell.ratio((rows["mean_value"] * rows["measured"]).sum(), rows["measured"].sum())


writes = figures.erp_writes(context)
dead = writes[writes["status"] == "dead_letter"]
review = figures.review_items(context)
# label, value as shown, tables behind, meaning
FIGURES = (
    (
        "Quote → project",
        shell.days(weighted("quote_to_project_days")),
        HEALTH,
        "Mean days from a won deal to its project in each system.",
    ),
    (
        "Time → bill",
        shell.days(weighted("time_to_bill_days")),
        HEALTH,
        "Mean days from the day worked to the invoice that bills it.",
    ),
    (
        "Invoice exceptions",
        shell.share(weighted("invoice_exception_rate")),
        HEALTH,
        "Share of invoices with an exception.",
    ),
    (
        "Records for review",
        f"{len(review):,}",
        REVIEW,
        "Records identity resolution would not settle on its own.",
    ),
    ("ERP dead letters", f"{len(dead):,}", (), "Writes the ERP refused (reverse_sync ledger)."),
)
for column, (label, value, tables, meaning) in zip(st.columns(len(FIGURES)), FIGURES, strict=True):
    shell.figure(column, context, label, value, tables, help=meaning)

chart = go.Figure(
    [
        go.Scatter(
            x=group["month"],
            y=group["mean_value"],
            mode="lines+markers",
            name=f"{name} ({system})",
        )
        for (name, system), group in metrics[
            metrics["metric_name"].isin(["quote_to_project_days", "time_to_bill_days"])
        ].groupby(["metric_name", "source_system"])
    ]
)
chart.update_layout(height=340, title="Latency in days", margin={"t": 50})
st.plotly_chart(chart, width="stretch")
shell.table(metrics, "integration health by month")

st.subheader("Rate cards that disagree with the contract")
disagreements = figures.rate_card_disagreements(context, filters)
if disagreements.empty:
    st.caption("Every PSA rate card prices each role as the contract in force does.")
else:
    st.warning(
        f"{len(disagreements):,} period(s) where Kantata's rate card prices a role unlike the "
        "contract: the PSA plans and reports at a rate the client will not be billed."
    )
shell.table(disagreements, "rate card disagreements")

st.subheader("Unmatched records")
shell.table(review, "records for review")

st.subheader("ERP sync")
if writes.empty:
    st.caption("The ERP sync has not written anything yet: its ledger starts with its first run.")
elif dead.empty:
    st.caption("No dead letters: the ERP accepted every write the sync made.")
else:
    st.error(f"{len(dead)} write(s) refused by the ERP (dead letters); replay after fixing them.")
shell.table(
    writes.groupby("status", as_index=False).agg(
        writes=("external_id", "count"), corrections=("corrections", "sum")
    ),
    "ERP writes by state",
)
shell.table(writes, "ERP writes")
