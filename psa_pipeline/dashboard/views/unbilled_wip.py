"""Unbilled WIP: approved work not yet billed, by aging bucket, and the projects holding most."""

import plotly.graph_objects as go
import streamlit as st

from psa_pipeline.dashboard import figures, shell

context, spec = shell.page("unbilled_wip")
filters = context.filters
currency = filters.currency
as_of = context.publication.as_of_on
BUCKETS = ["0-30", "31-60", "61-90", "90+"]

st.caption(
    f"Approved billable work on no invoice yet, from months the billing run has not invoiced, "
    f"aged from the day of the work to the as-of date ({as_of:%d %b %Y}). Not a period figure: "
    f"the period filter does not apply. Amounts in {currency}."
)
buckets = filters.convert(figures.wip_by_bucket(context, filters), ["wip"])
total = buckets["wip"].sum()
columns = st.columns(5)
shell.figure(columns[0], context, "Unbilled WIP", shell.money(total, currency), ("unbilled_wip",))
for column, bucket in zip(columns[1:], BUCKETS, strict=True):
    value = buckets.loc[buckets["aging_bucket"] == bucket, "wip"].sum()
    shell.figure(column, context, f"{bucket} days", shell.money(value, currency), ("unbilled_wip",))
chart = go.Figure(
    [
        go.Bar(
            x=BUCKETS,
            y=[
                buckets.loc[
                    (buckets["aging_bucket"] == b) & (buckets["wip_type"] == kind), "wip"
                ].sum()
                for b in BUCKETS
            ],
            name=kind,
        )
        for kind in sorted(buckets["wip_type"].unique())
    ]
)
chart.update_layout(
    barmode="stack", height=340, title=f"WIP by age in days ({currency})", margin={"t": 50}
)
st.plotly_chart(chart, width="stretch")
shell.table(buckets, "WIP by aging bucket", column_config=shell.money_columns(currency, ["wip"]))
st.subheader("Projects holding the most")
projects = filters.convert(figures.wip_by_project(context, filters), ["wip"])
shell.table(projects, "WIP by project", column_config=shell.money_columns(currency, ["wip"]))
