"""The pages' queries: aggregate SQL over the marts, in the reporting currency, filtered.

The marts hold the business logic; these only sum them for a period and the chosen filters
(pages convert to the chosen currency). SQL that DuckDB and Postgres both speak, with `?`
placeholders.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

import pandas as pd

from psa_pipeline.dashboard.filters import Filters, Period
from psa_pipeline.dashboard.shell import Context

# How a leakage item's billing correction stands in the ERP sync (reverse_sync/ledger.py)
NO_CORRECTION = "no ERP correction (needs a person)"
NOT_PUSHED = "not yet pushed"
PENDING = "pending (written ahead, arrival not yet known)"
PUSHED = "pushed"
CONFIRMED = "confirmed (read back from the ERP)"
DEAD_LETTER = "dead letter"
IN_ERP = (PUSHED, CONFIRMED)
SYNC_TABLES = ("reverse_sync.erp_sync_ledger", "reverse_sync.erp_sync_outbox")


def period_end_on(period: Period, as_of_on: date | None) -> date:
    """The period's last day (the as-of date for a period that runs past it)."""
    last = date(
        period.end.year, period.end.month, calendar.monthrange(period.end.year, period.end.month)[1]
    )
    return min(last, as_of_on) if as_of_on and period.is_partial else last


def _month_before(month: date) -> date:
    return date(month.year - 1, 12, 1) if month.month == 1 else date(month.year, month.month - 1, 1)


# ---------- overview


@dataclass(frozen=True)
class Headline:
    sold: float | None
    backlog: float | None
    delivered: float | None
    delivered_cost: float | None
    billed: float | None
    collected: float | None
    receivable: float | None
    billable_hours: float | None
    available_hours: float | None
    open_leakage: float | None
    days: int

    @property
    def gross_margin(self):
        return _ratio(_minus(self.delivered, self.delivered_cost), self.delivered)

    @property
    def realization(self):
        return _ratio(self.billed, self.delivered)

    @property
    def utilization(self):
        return _ratio(self.billable_hours, self.available_hours)

    @property
    def dso(self):
        """Days sales outstanding: what is receivable at the period's end, in days of the
        period's billing."""
        share = _ratio(self.receivable, self.billed)
        return None if share is None or share < 0 else share * self.days


def _minus(a, b):
    return None if a is None or b is None else a - b


def _ratio(a, b):
    if a is None or b is None or pd.isna(a) or pd.isna(b) or b == 0:
        return None
    return a / b


def _one(frame: pd.DataFrame) -> dict:
    row = frame.iloc[0].to_dict()
    return {k: (None if pd.isna(v) else v) for k, v in row.items()}


def headline(context: Context, filters: Filters, period: Period) -> Headline:
    where, params = filters.where()
    flows = _one(
        context.query(
            "select sum(delivered_reporting_amount) as delivered, "
            "sum(delivered_cost_reporting_amount) as delivered_cost, "
            "sum(billed_reporting_amount) as billed, "
            "sum(collected_reporting_amount) as collected "
            f"from marts.project_margin_monthly where margin_month between ? and ?{where}",
            [period.start, period.end, *params],
        )
    )
    at_end = _one(
        context.query(
            "select sum(billed_to_date_reporting_amount - collected_to_date_reporting_amount) "
            "as receivable from marts.project_margin_monthly "
            f"where margin_month = ?{where}",
            [period.end, *params],
        )
    )
    sold = _one(
        context.query(
            # contract value signed in the period, at the period end's rate
            "select sum(case when e.sold_amount = 0 then 0 else "
            "(e.sold_amount - coalesce(s.sold_amount, 0)) * e.sold_reporting_amount / e.sold_amount "
            "end) as sold "
            f"from (select * from marts.project_margin_monthly where margin_month = ?{where}) as e "
            "left join (select project_code, sold_amount from marts.project_margin_monthly "
            "where margin_month = ?) as s on s.project_code = e.project_code",
            [period.end, *params, _month_before(period.start)],
        )
    )
    backlog = _one(
        context.query(
            "select sum(backlog_reporting_amount) as backlog from marts.backlog_monthly "
            f"where backlog_month = ?{where}",
            [period.end, *params],
        )
    )
    practice_where, practice_params = filters.where(legal_entity=None, customer=None)
    hours = _one(
        context.query(
            "select sum(billable_hours) as billable_hours, sum(available_hours) as available_hours "
            "from marts.utilization_practice_monthly "
            f"where utilization_month between ? and ?{practice_where}",
            [period.start, period.end, *practice_params],
        )
    )
    end_on = period_end_on(period, context.publication.as_of_on)
    leakage = leakage_items(context, filters)
    open_items = leakage[~leakage["sync_state"].isin(IN_ERP) & (leakage["leakage_on"] <= end_on)]
    return Headline(
        sold=sold["sold"],
        backlog=backlog["backlog"],
        delivered=flows["delivered"],
        delivered_cost=flows["delivered_cost"],
        billed=flows["billed"],
        collected=flows["collected"],
        receivable=at_end["receivable"],
        billable_hours=hours["billable_hours"],
        available_hours=hours["available_hours"],
        open_leakage=float(open_items["leakage_reporting_amount"].sum()) if len(leakage) else 0.0,
        days=(end_on - period.start).days + 1,
    )


def wip_total(context: Context, filters: Filters) -> float:
    where, params = filters.where()
    total = _one(
        context.query(
            f"select sum(wip_reporting_amount) as wip from marts.unbilled_wip where 1 = 1{where}",
            params,
        )
    )["wip"]
    return total or 0.0


# ---------- margin


WATERFALL = (
    ("Sold", "sold"),
    ("Planned (at completion)", "planned"),
    ("Delivered", "delivered"),
    ("Billed", "billed"),
    ("Collected", "collected"),
)


def margin_to_date(context: Context, filters: Filters, period: Period, by: str) -> pd.DataFrame:
    """Sold, planned at completion, delivered, billed and collected to the period's end, and the
    period's own delivered, billed and margin, by practice, customer or project."""
    where, params = filters.where(
        legal_entity="m.legal_entity", practice="m.practice", customer="m.customer_id"
    )
    group = {
        "practice": "coalesce(m.practice, '(none)')",
        "customer": "coalesce(c.customer_name, m.customer_id, '(none)')",
        "project": "m.project_code",
    }[by]
    return context.query(
        f"select {group} as {by}, "
        "sum(case when m.margin_month = ? then m.sold_reporting_amount end) as sold, "
        "sum(case when m.margin_month = ? then m.eac_reporting_amount end) as planned, "
        "sum(case when m.margin_month = ? then m.delivered_to_date_reporting_amount end) "
        "as delivered, "
        "sum(case when m.margin_month = ? then m.billed_to_date_reporting_amount end) as billed, "
        "sum(case when m.margin_month = ? then m.collected_to_date_reporting_amount end) "
        "as collected, "
        "sum(case when m.margin_month >= ? then m.delivered_reporting_amount end) "
        "as period_delivered, "
        "sum(case when m.margin_month >= ? then m.billed_reporting_amount end) as period_billed, "
        "sum(case when m.margin_month >= ? then m.delivered_margin_reporting_amount end) "
        "as period_margin "
        "from marts.project_margin_monthly as m "
        "left join marts.dim_customer as c on c.customer_id = m.customer_id "
        f"where m.margin_month between ? and ?{where} group by 1 order by 2 desc nulls last",
        [*[period.end] * 5, *[period.start] * 3, period.start, period.end, *params],
    )


def project_months(context: Context, project_code: str, period: Period) -> pd.DataFrame:
    return context.query(
        "select m.margin_month as month, m.sold_reporting_amount as sold, "
        "m.planned_reporting_amount as planned, m.delivered_reporting_amount as delivered, "
        "m.billed_reporting_amount as billed, m.collected_reporting_amount as collected, "
        "m.delivered_margin_reporting_amount as delivered_margin, m.realization_ratio, "
        "m.delivered_hours, m.planned_hours, m.eac_reporting_amount as planned_at_completion "
        "from marts.project_margin_monthly as m where m.project_code = ? and m.margin_month <= ? "
        "order by 1",
        [project_code, period.end],
    )


def project_names(context: Context) -> pd.DataFrame:
    return context.query(
        "select p.project_code, p.project_name, c.customer_name from marts.dim_project as p "
        "left join marts.dim_customer as c on c.customer_id = p.customer_id order by 1"
    )


# ---------- backlog


def backlog_by_month(context: Context, filters: Filters, period: Period) -> pd.DataFrame:
    where, params = filters.where()
    return context.query(
        "select backlog_month as month, sum(scheduled_backlog_reporting_amount) as scheduled, "
        "sum(unscheduled_backlog_reporting_amount) as unscheduled, "
        "sum(backlog_reporting_amount) as backlog, sum(overrun_reporting_amount) as overrun "
        f"from marts.backlog_monthly where backlog_month <= ?{where} group by 1 order by 1",
        [period.end, *params],
    )


def backlog_by(context: Context, filters: Filters, period: Period, by: str) -> pd.DataFrame:
    where, params = filters.where(
        legal_entity="b.legal_entity", practice="b.practice", customer="b.customer_id"
    )
    group = {
        "practice": "coalesce(b.practice, '(none)')",
        "customer": "coalesce(c.customer_name, b.customer_id, '(none)')",
    }[by]
    return context.query(
        f"select {group} as {by}, sum(b.scheduled_backlog_reporting_amount) as scheduled, "
        "sum(b.unscheduled_backlog_reporting_amount) as unscheduled, "
        "sum(b.backlog_reporting_amount) as backlog "
        "from marts.backlog_monthly as b "
        "left join marts.dim_customer as c on c.customer_id = b.customer_id "
        f"where b.backlog_month = ?{where} group by 1 order by 4 desc",
        [period.end, *params],
    )


def backlog_ahead(context: Context, filters: Filters) -> pd.DataFrame:
    """Today's backlog over the months ahead: what the plan delivers each month, what is left
    at each month's end, and the part no one is planned to deliver."""
    where, params = filters.where()
    return context.query(
        "select schedule_month as month, min(months_ahead) as months_ahead, "
        "sum(scheduled_reporting_amount) as scheduled, "
        "sum(remaining_backlog_reporting_amount) as remaining, "
        "sum(unscheduled_backlog_reporting_amount) as unscheduled "
        f"from marts.backlog_by_month_ahead where 1 = 1{where} group by 1 order by 1",
        params,
    )


# ---------- unbilled WIP


def wip_by_bucket(context: Context, filters: Filters) -> pd.DataFrame:
    where, params = filters.where()
    return context.query(
        "select aging_bucket, wip_type, count(*) as items, sum(wip_hours) as hours, "
        "sum(wip_reporting_amount) as wip from marts.unbilled_wip "
        f"where 1 = 1{where} group by 1, 2 order by 1, 2",
        params,
    )


def wip_by_project(context: Context, filters: Filters, limit: int = 15) -> pd.DataFrame:
    where, params = filters.where(
        legal_entity="w.legal_entity", practice="w.practice", customer="w.customer_id"
    )
    return context.query(
        "select w.project_code, max(c.customer_name) as customer, max(w.practice) as practice, "
        "count(*) as items, max(w.age_days) as oldest_days, "
        "sum(w.wip_reporting_amount) as wip from marts.unbilled_wip as w "
        "left join marts.dim_customer as c on c.customer_id = w.customer_id "
        f"where 1 = 1{where} group by 1 order by 6 desc limit {int(limit)}",
        params,
    )


def sold_vs_delivered_by_role(context: Context, filters: Filters) -> pd.DataFrame:
    """Hours and value the won deals quoted per role (HubSpot line items) beside what each
    role delivered to date, on projects quoted by role (fixed fees are quoted as one fee)."""
    where, params = filters.where()
    return context.query(
        "select coalesce(role_name, role_key, '(no role)') as role, "
        "sum(sold_hours) as sold_hours, sum(delivered_billable_hours) as delivered_hours, "
        "sum(sold_reporting_amount) as sold, sum(delivered_reporting_amount) as delivered, "
        "sum(sold_less_delivered_reporting_amount) as sold_less_delivered "
        f"from marts.sold_vs_delivered_by_role where is_quoted_by_role{where} "
        "group by 1 order by 4 desc nulls last",
        params,
    )


# ---------- utilization and realization


def utilization_by_practice(context: Context, filters: Filters, period: Period) -> pd.DataFrame:
    where, params = filters.where(legal_entity=None, customer=None)
    return context.query(
        "select utilization_month as month, practice, consultant_count, available_hours, "
        "billable_hours, utilization_ratio from marts.utilization_practice_monthly "
        f"where utilization_month <= ?{where} order by 1, 2",
        [period.end, *params],
    )


def utilization_by_consultant(context: Context, filters: Filters, period: Period) -> pd.DataFrame:
    where, params = filters.where(legal_entity=None, customer=None)
    return context.query(
        "select full_name as consultant, practice, role_key as role, "
        "sum(available_hours) as available_hours, sum(billable_hours) as billable_hours, "
        "sum(worked_hours) as worked_hours, "
        "case when sum(available_hours) > 0 then sum(billable_hours) / sum(available_hours) end "
        "as utilization_ratio from marts.utilization_monthly "
        f"where utilization_month between ? and ?{where} group by 1, 2, 3 order by 7 desc",
        [period.start, period.end, *params],
    )


def realization_by_practice(context: Context, filters: Filters, period: Period) -> pd.DataFrame:
    where, params = filters.where()
    return context.query(
        "select margin_month as month, coalesce(practice, '(none)') as practice, "
        "sum(delivered_reporting_amount) as delivered, sum(billed_reporting_amount) as billed, "
        "case when sum(delivered_reporting_amount) <> 0 then "
        "sum(billed_reporting_amount) / sum(delivered_reporting_amount) end as realization_ratio "
        f"from marts.project_margin_monthly where margin_month <= ?{where} "
        "group by 1, 2 order by 1, 2",
        [period.end, *params],
    )


def billable_work_by_task(context: Context, filters: Filters, period: Period) -> pd.DataFrame:
    """Approved work by Harvest task in the period: hours, the billable share, its value."""
    where, params = filters.where(customer=None)
    return context.query(
        "select task_name as task, bool_or(is_task_billable_by_default) as billable_by_default, "
        "sum(hours) as hours, sum(billable_hours) as billable_hours, "
        "case when sum(hours) > 0 then sum(billable_hours) / sum(hours) end as billable_ratio, "
        "sum(delivered_reporting_amount) as delivered, sum(billed_reporting_amount) as billed "
        "from marts.billable_work_by_task_monthly "
        f"where work_month between ? and ?{where} group by 1 order by 3 desc",
        [period.start, period.end, *params],
    )


# ---------- revenue leakage


SYNC_STATE_COLUMNS = [
    "correction_id",
    "cause",
    "record_type",
    "external_id",
    "status",
    "last_error",
    "attempts",
    "updated_at",
    "is_read_back",
]


def sync_states(context: Context) -> pd.DataFrame:
    """Each correction the sync has taken up, with its ERP write's state. Read back: a refresh
    found the ERP record naming the correction, so revenue_leakage no longer lists its item
    (the correction id is the item's id)."""
    if not context.source.has_tables(context.publication, SYNC_TABLES):
        return pd.DataFrame(columns=SYNC_STATE_COLUMNS)
    return context.query(
        "select l.correction_id, split_part(l.correction_id, '-', 1) as cause, o.record_type, "
        "o.external_id, o.status, o.last_error, o.attempts, o.updated_at, "
        "not exists (select 1 from marts.revenue_leakage as r "
        "where r.leakage_id = l.correction_id) as is_read_back "
        "from reverse_sync.erp_sync_ledger as l "
        "join reverse_sync.erp_sync_outbox as o on o.external_id = l.external_id "
        "order by o.updated_at desc, l.correction_id"
    )


def corrections_taken_up(context: Context) -> pd.DataFrame:
    """What the sync has sent for each leakage item it took up, and where that stands."""
    states = sync_states(context)
    states["sync_state"] = [
        sync_state(True, status, read_back)
        for status, read_back in zip(states["status"], states["is_read_back"], strict=True)
    ]
    return states.drop(columns=["is_read_back"])


def sync_state(has_correction: bool, status, is_read_back) -> str:
    """ledger.py's outbox statuses, as they stand for the correction of one leakage item."""
    if not has_correction:
        return NO_CORRECTION
    if status is None or pd.isna(status) or status == "superseded":
        return NOT_PUSHED  # not taken up yet (or the sync does not handle its kind yet)
    if status == "pending":
        return PENDING
    if status == "dead_letter":
        return DEAD_LETTER
    return CONFIRMED if bool(is_read_back) else PUSHED


def leakage_items(context: Context, filters: Filters) -> pd.DataFrame:
    """Every leakage item (filtered; any period), with its source records and the state of its
    billing correction in the ERP sync."""
    where, params = filters.where(
        legal_entity="p.legal_entity", practice="p.practice", customer="p.customer_id"
    )
    items = context.query(
        "select r.leakage_id, r.cause, r.leakage_on, "
        "coalesce(r.billing_month, cast(date_trunc('month', r.leakage_on) as date)) as month, "
        "r.project_code, c.customer_name as customer, p.practice, p.legal_entity, "
        "r.leakage_amount, r.leakage_currency, r.leakage_reporting_amount, r.source_system, "
        "r.source_record_id, r.time_entry_id, r.expense_id, r.milestone_id, r.crm_deal_id, "
        "r.contract_version_id, r.invoice_line_id, r.original_invoice_line_id, "
        "b.correction_id, b.correction_type, b.erp_external_id "
        "from marts.revenue_leakage as r "
        "left join marts.dim_project as p on p.project_code = r.project_code "
        "left join marts.dim_customer as c on c.customer_id = p.customer_id "
        "left join marts.billing_corrections as b on b.correction_id = r.leakage_id "
        f"where 1 = 1{where} order by r.leakage_on desc, r.leakage_id",
        params,
    )
    states = sync_states(context).set_index("correction_id")
    joined = items.join(states[["status", "last_error", "is_read_back"]], on="leakage_id")
    items["sync_state"] = [
        sync_state(pd.notna(correction), status, read_back)
        for correction, status, read_back in zip(
            joined["correction_id"], joined["status"], joined["is_read_back"], strict=True
        )
    ]
    items["sync_error"] = joined["last_error"]
    items["leakage_on"] = pd.to_datetime(items["leakage_on"]).dt.date
    items["month"] = pd.to_datetime(items["month"]).dt.date
    return items


# ---------- integration health


def health_metrics(context: Context, period: Period, metrics: tuple[str, ...]) -> pd.DataFrame:
    marks = ", ".join("?" for _ in metrics)
    return context.query(
        "select month_on as month, metric_name, source_system, entity, metric_unit, "
        "sum(measured_count) as measured, sum(exception_count) as exceptions, "
        "sum(metric_value * measured_count) / nullif(sum(measured_count), 0) as mean_value, "
        "max(max_value) as max_value "
        f"from marts.integration_health where metric_name in ({marks}) and month_on <= ? "
        "group by 1, 2, 3, 4, 5 order by 1, 2, 3, 4",
        [*metrics, period.end],
    )


def rate_card_disagreements(context: Context, filters: Filters) -> pd.DataFrame:
    """Where the PSA's rate card prices a role unlike the contract in force (Kantata against
    HubSpot): each period of disagreement, with both rates."""
    where, params = filters.where()
    return context.query(
        "select project_code, role_key as role, rate_card_title, disagreement, "
        "psa_rate_amount, psa_rate_currency, contract_rate_amount, contract_rate_currency, "
        "rate_difference_reporting_amount as psa_less_contract, valid_from, valid_to, is_current "
        f"from marts.rate_card_disagreements where 1 = 1{where} "
        "order by is_current desc, valid_from desc, project_code, role_key",
        params,
    )


def review_items(context: Context) -> pd.DataFrame:
    return context.query(
        "select entity, issue, source_system, source_record_id, source_name, canonical_id, "
        "related_ids, review_detail, match_method, match_confidence, record_created_at "
        "from marts.identity_match_review order by entity, issue, source_system, source_record_id"
    )


ERP_WRITE_COLUMNS = [
    "external_id",
    "record_type",
    "status",
    "attempts",
    "last_error",
    "created_at",
    "updated_at",
    "corrections",
]


def erp_writes(context: Context) -> pd.DataFrame:
    """The ERP sync's writes, newest first (none before the first sync makes its ledger)."""
    if not context.source.has_tables(context.publication, SYNC_TABLES):
        return pd.DataFrame(columns=ERP_WRITE_COLUMNS)
    return context.query(
        f"select {', '.join(f'o.{c}' for c in ERP_WRITE_COLUMNS[:-1])}, "
        "count(l.correction_id) as corrections "
        "from reverse_sync.erp_sync_outbox as o "
        "left join reverse_sync.erp_sync_ledger as l on l.external_id = o.external_id "
        "group by 1, 2, 3, 4, 5, 6, 7 order by o.created_at desc, o.external_id"
    )
