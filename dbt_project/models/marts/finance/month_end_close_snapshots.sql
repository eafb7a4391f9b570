{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        full_refresh=false,
        on_schema_change='fail',
    )
}}

{#-
    Month-end close, one row per project and closed month, written once and never rewritten.

    Closed: a month is closed once the billing run has invoiced it on or before the as-of date
    (int_as_of__derived.closed_through_month; the sandbox invoices month M on the 15th of
    M + 1). closed_on is that run's date. Each build appends the months closed since the last
    one (every month after the latest close_month already here, up to closed_through_month)
    and leaves the rows already here as they are: an incremental model with the append
    strategy, and full_refresh=false so a `--full-refresh` does not rebuild it either.

    The figures are taken as at the close, as far as the data's own dates allow, so a month
    first captured late (the first build of a warehouse) reads as it would have on the day:
      delivered          approved time of the month (hours, value at the contract rates, cost
                         at HR's), as project_margin_monthly has it;
      billed             the month's invoice lines dated up to closed_on less credit memos
                         against them dated up to closed_on;
      leakage            revenue_leakage items of the month (known when captured);
      billed / collected to close  every invoice line less credit memos, every payment of the
                         project dated up to closed_on; receivable = the difference;
      wip at close       approved billable work of later months done by closed_on and on no
                         invoice dated by then (time on time-and-materials contracts at the
                         contract rate, billable expenses, completed milestones of milestone
                         contracts), as unbilled_wip defines WIP.
    captured_as_of_on is the as-of date of the build that wrote the row.
-#}

{%- set reporting_currency = var('reporting_currency') | upper %}

with

margin as (

    select * from {{ ref('project_margin_monthly') }}

),

billing_months as (

    select * from {{ ref('int_billing_months__invoiced') }}

),

invoice_lines as (

    select * from {{ ref('fct_invoice_line') }}
    where not is_draft

),

settlements as (

    select * from {{ ref('fct_payment') }}

),

time_entries as (

    select * from {{ ref('fct_time_entry') }}

),

expenses as (

    select * from {{ ref('fct_expense') }}

),

milestones as (

    select * from {{ ref('fct_milestone') }}

),

leakage as (

    select * from {{ ref('revenue_leakage') }}

),

as_of as (

    select * from {{ ref('int_as_of__derived') }}

),

closing_months as (

    -- every month closed by now and not captured yet
    select
        margin.project_code,
        margin.customer_id,
        margin.billing_model,
        margin.currency,
        margin.margin_month as close_month,
        margin.delivered_hours,
        margin.delivered_billable_hours,
        margin.delivered_amount,
        margin.delivered_cost_amount,
        margin.delivered_reporting_amount,
        margin.delivered_cost_reporting_amount,
        as_of.as_of_on as captured_as_of_on
    from margin
    cross join as_of
    where
        margin.margin_month <= as_of.closed_through_month
        {% if is_incremental() %}
        and margin.margin_month > (
            select coalesce(max(close_month), cast('1900-01-01' as date)) from {{ this }}
        )
        {% endif %}

),

closes as (

    -- the run that closed the month: its own, or the next one if no project ran in it
    select
        closing_months.*,
        (
            select min(billing_months.first_invoiced_on)
            from billing_months
            where billing_months.billing_month >= closing_months.close_month
        ) as closed_on
    from closing_months

),

invoice_months as (

    select
        invoice_id,
        min(invoiced_on) as invoiced_on,
        min(coalesce(billing_month, cast({{ dbt.date_trunc('month', 'invoiced_on') }} as date)))
            as service_month
    from invoice_lines
    group by invoice_id

),

billed_in_month as (

    select
        closes.project_code,
        closes.close_month,
        sum(invoice_lines.line_amount) as invoiced_amount,
        sum(invoice_lines.line_reporting_amount) as invoiced_reporting_amount
    from closes
    inner join invoice_lines
        on invoice_lines.project_code = closes.project_code
        and invoice_lines.invoiced_on <= closes.closed_on
    inner join invoice_months
        on invoice_months.invoice_id = invoice_lines.invoice_id
        and invoice_months.service_month = closes.close_month
    group by 1, 2

),

credited_in_month as (

    select
        closes.project_code,
        closes.close_month,
        sum(settlements.payment_amount) as credited_amount,
        sum(settlements.payment_reporting_amount) as credited_reporting_amount
    from closes
    inner join settlements
        on settlements.project_code = closes.project_code
        and settlements.is_credit_memo
        and settlements.paid_on <= closes.closed_on
    inner join invoice_months
        on invoice_months.invoice_id = settlements.invoice_id
        and invoice_months.service_month = closes.close_month
    group by 1, 2

),

billed_to_close as (

    select
        closes.project_code,
        closes.close_month,
        sum(invoice_lines.line_amount) as invoiced_amount
    from closes
    inner join invoice_lines
        on invoice_lines.project_code = closes.project_code
        and invoice_lines.invoiced_on <= closes.closed_on
    group by 1, 2

),

settled_to_close as (

    select
        closes.project_code,
        closes.close_month,
        sum(case when settlements.is_credit_memo then settlements.payment_amount else 0 end)
            as credited_amount,
        sum(case when settlements.is_credit_memo then 0 else settlements.payment_amount end)
            as collected_amount,
        sum(case when settlements.is_credit_memo then 0 else settlements.payment_reporting_amount end)
            as collected_reporting_amount
    from closes
    inner join settlements
        on settlements.project_code = closes.project_code
        and settlements.paid_on <= closes.closed_on
    group by 1, 2

),

leaked as (

    select
        closes.project_code,
        closes.close_month,
        sum(leakage.leakage_amount) as leakage_amount,
        sum(leakage.leakage_reporting_amount) as leakage_reporting_amount
    from closes
    inner join leakage
        on leakage.project_code = closes.project_code
        and leakage.billing_month = closes.close_month
    group by 1, 2

),

line_dates as (

    select invoice_line_id, invoiced_on from invoice_lines

),

wip_items as (

    select
        time_entries.project_code,
        time_entries.spent_on as work_on,
        time_entries.bill_amount as wip_amount,
        time_entries.bill_reporting_amount as wip_reporting_amount,
        line_dates.invoiced_on
    from time_entries
    left join line_dates on line_dates.invoice_line_id = time_entries.first_invoice_line_id
    where
        time_entries.is_billable
        and time_entries.is_approved
        and time_entries.billing_model = 'time_and_materials'

    union all

    select
        upper(expenses.project_code) as project_code,
        expenses.spent_on as work_on,
        expenses.expense_amount as wip_amount,
        expenses.expense_reporting_amount as wip_reporting_amount,
        line_dates.invoiced_on
    from expenses
    left join line_dates on line_dates.invoice_line_id = expenses.invoice_line_id
    where expenses.is_billable and expenses.is_approved

    union all

    select
        milestones.project_code,
        milestones.due_on as work_on,
        milestones.milestone_amount as wip_amount,
        milestones.milestone_reporting_amount as wip_reporting_amount,
        line_dates.invoiced_on
    from milestones
    left join line_dates on line_dates.invoice_line_id = milestones.invoice_line_id
    where
        milestones.is_billable
        and milestones.is_completed
        and milestones.billing_model = 'milestone'

),

wip_at_close as (

    select
        closes.project_code,
        closes.close_month,
        sum(wip_items.wip_amount) as wip_amount,
        sum(wip_items.wip_reporting_amount) as wip_reporting_amount
    from closes
    inner join wip_items
        on wip_items.project_code = closes.project_code
        and wip_items.work_on >= {{ dbt.dateadd('month', 1, 'closes.close_month') }}
        and wip_items.work_on <= closes.closed_on
        and (wip_items.invoiced_on is null or wip_items.invoiced_on > closes.closed_on)
    group by 1, 2

),

final as (

    select

        ---------- ids
        {{ dbt.concat([
            'closes.project_code', "'-'", dbt.safe_cast('closes.close_month', dbt.type_string()),
        ]) }} as close_snapshot_id,
        closes.project_code,
        closes.customer_id,

        ---------- text
        closes.billing_model,
        closes.currency,
        '{{ reporting_currency }}' as reporting_currency,

        ---------- numerics
        cast(closes.delivered_hours as decimal(18, 4)) as delivered_hours,
        cast(closes.delivered_billable_hours as decimal(18, 4)) as delivered_billable_hours,
        cast(closes.delivered_amount as decimal(18, 2)) as delivered_amount,
        cast(closes.delivered_cost_amount as decimal(18, 2)) as delivered_cost_amount,
        cast(
            coalesce(billed_in_month.invoiced_amount, 0)
            - coalesce(credited_in_month.credited_amount, 0)
            as decimal(18, 2)
        ) as billed_amount,
        cast(coalesce(leaked.leakage_amount, 0) as decimal(18, 2)) as leakage_amount,
        cast(
            coalesce(billed_to_close.invoiced_amount, 0)
            - coalesce(settled_to_close.credited_amount, 0)
            as decimal(18, 2)
        ) as billed_to_close_amount,
        cast(coalesce(settled_to_close.collected_amount, 0) as decimal(18, 2))
            as collected_to_close_amount,
        cast(
            coalesce(billed_to_close.invoiced_amount, 0)
            - coalesce(settled_to_close.credited_amount, 0)
            - coalesce(settled_to_close.collected_amount, 0)
            as decimal(18, 2)
        ) as receivable_at_close_amount,
        cast(coalesce(wip_at_close.wip_amount, 0) as decimal(18, 2)) as wip_at_close_amount,
        cast(closes.delivered_reporting_amount as decimal(18, 2)) as delivered_reporting_amount,
        cast(closes.delivered_cost_reporting_amount as decimal(18, 2))
            as delivered_cost_reporting_amount,
        cast(
            coalesce(billed_in_month.invoiced_reporting_amount, 0)
            - coalesce(credited_in_month.credited_reporting_amount, 0)
            as decimal(18, 2)
        ) as billed_reporting_amount,
        cast(coalesce(leaked.leakage_reporting_amount, 0) as decimal(18, 2))
            as leakage_reporting_amount,
        cast(coalesce(settled_to_close.collected_reporting_amount, 0) as decimal(18, 2))
            as collected_to_close_reporting_amount,
        cast(coalesce(wip_at_close.wip_reporting_amount, 0) as decimal(18, 2))
            as wip_at_close_reporting_amount,

        ---------- dates
        closes.close_month,
        closes.closed_on,
        closes.captured_as_of_on

    from closes
    left join billed_in_month
        on billed_in_month.project_code = closes.project_code
        and billed_in_month.close_month = closes.close_month
    left join credited_in_month
        on credited_in_month.project_code = closes.project_code
        and credited_in_month.close_month = closes.close_month
    left join billed_to_close
        on billed_to_close.project_code = closes.project_code
        and billed_to_close.close_month = closes.close_month
    left join settled_to_close
        on settled_to_close.project_code = closes.project_code
        and settled_to_close.close_month = closes.close_month
    left join leaked
        on leaked.project_code = closes.project_code
        and leaked.close_month = closes.close_month
    left join wip_at_close
        on wip_at_close.project_code = closes.project_code
        and wip_at_close.close_month = closes.close_month

)

select * from final
