"""Revenue leakage: by cause and month; each item down to its source records in each system
and the state of its billing correction in the ERP sync."""

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from psa_pipeline.dashboard import figures, shell

context, spec = shell.page("revenue_leakage")
filters = context.filters
period = filters.period
currency = filters.currency
links = context.config.record_links
# the source records of an item: column, system, kind of record
RECORDS = (
    ("time_entry_id", "harvest", "time_entry"),
    ("expense_id", "harvest", "expense"),
    ("milestone_id", "kantata", "milestone"),
    ("crm_deal_id", "hubspot", "deal"),
    ("contract_version_id", "hubspot", "contract_version"),
    ("invoice_line_id", "netsuite", "invoice_line"),
    ("original_invoice_line_id", "netsuite", "invoice_line"),
)

items = figures.leakage_items(context, filters)
items["leakage"] = items["leakage_reporting_amount"].astype("float64") / float(filters.rate)
in_period = items[(items["month"] >= period.start) & (items["month"] <= period.end)]
st.caption(
    f"Money the firm lost or owes back, by the month it leaked. Items of **{period.label}** "
    f"below; the chart runs to its end. Amounts in {currency} (each item also in its own "
    "currency)."
)
open_items = in_period[~in_period["sync_state"].isin(figures.IN_ERP)]
columns = st.columns(3)
shell.figure(
    columns[0],
    context,
    f"Leakage, {period.label}",
    shell.money(in_period["leakage"].sum(), currency),
    ("revenue_leakage",),
)
shell.figure(
    columns[1],
    context,
    "Not corrected in the ERP yet",
    shell.money(open_items["leakage"].sum(), currency),
    ("revenue_leakage", "billing_corrections"),
)
shell.figure(columns[2], context, "Items", f"{len(in_period):,}", ("revenue_leakage",))

history = items[items["month"] <= period.end]
by_month = history.groupby(["month", "cause"], as_index=False)["leakage"].sum()
chart = go.Figure(
    [
        go.Bar(x=group["month"], y=group["leakage"], name=cause)
        for cause, group in by_month.groupby("cause")
    ]
)
chart.update_layout(
    barmode="stack",
    height=360,
    title=f"Leakage by cause and month ({currency})",
    margin={"t": 50},
)
st.plotly_chart(chart, width="stretch")
by_cause = (
    in_period.groupby(["cause", "sync_state"], as_index=False)
    .agg(items=("leakage_id", "count"), leakage=("leakage", "sum"))
    .sort_values("leakage", ascending=False)
)
shell.table(by_cause, "leakage by cause", column_config=shell.money_columns(currency, ["leakage"]))

st.subheader("Put right by the ERP sync")
taken_up = figures.corrections_taken_up(context)
put_right = taken_up[taken_up["sync_state"] == figures.CONFIRMED]
st.caption(
    "Every leakage item the sync has taken up, whatever its period: the ERP record it went on "
    "(a draft invoice or a credit memo) and where it stands. **Confirmed** items are put right: "
    "a refresh read the ERP's record back, so they are no longer leakage above. The filters "
    "do not apply here (the ledger knows corrections, not projects)."
)
shell.figure(
    st.columns(3)[0],
    context,
    "Put right by the sync",
    f"{len(put_right):,} of {len(taken_up):,}",
    ("revenue_leakage",),
)
shell.table(
    taken_up.groupby(["cause", "sync_state"], as_index=False)
    .agg(corrections=("correction_id", "count"))
    .sort_values(["cause", "sync_state"]),
    "corrections by cause and state",
)
shell.table(taken_up, "corrections taken up by the sync")

st.subheader("Items and their source records")
st.caption(
    "ERP correction states, from the sync's ledger: **not yet pushed** (not taken up by the sync "
    "yet, or a kind it does not write yet), **pending** (written ahead; the next sync asks the "
    "ERP whether it arrived), **pushed** (the ERP accepted it), **confirmed** (read back from the "
    "ERP by a later refresh), **dead letter** (the ERP refused it; the reason is shown)."
    + ("" if links else " Links to records appear when PSA_DASHBOARD_LINK_<SYSTEM> is set.")
)
shown = in_period.copy()
config = shell.money_columns(currency, ["leakage"])
for column, system, kind in RECORDS:
    template = links.get(system)
    if template:
        shown[f"{column}_link"] = [
            None if pd.isna(value) else template.format(kind=kind, id=value)
            for value in shown[column]
        ]
        config[f"{column}_link"] = st.column_config.LinkColumn(f"{column} ({system})")
shown = shown.drop(columns=["leakage_reporting_amount"])
shell.table(shown, "leakage items", column_config=config)
