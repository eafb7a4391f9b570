{#-
    The project margin waterfall, one row per project and month, from the project's first month
    of activity to the as-of month (int_as_of__derived): sold -> planned -> delivered -> billed
    -> collected, each in the project's currency (the contract's: `currency`) and in the
    reporting currency (var reporting_currency, `*_reporting_amount`).

    sold       the contract value of the latest version signed by the period's end (for time
               and materials the value is the SOW's estimate), at the period end's rate.
    planned    the PSA plan for the month (int_projects__planned: the assigned team's available
               hours shared across their running projects, at the contract rates, costed at HR).
    delivered  approved time worked in the month (fct_time_entry): value = billable hours at the
               contract rate in force on the day, cost = all approved hours at HR's cost rate on
               the day (converted into the project's currency at the day's rates).
    billed     ERP invoice lines (drafts not yet sent excluded) less credit memos, by the month
               they bill: the billing run's invoice of month M bills M (fct_invoice_line
               .billing_month); a credit memo counts against the month of the invoice it credits;
               an invoice outside the run (a correction pushed back) bills the month it is dated.
    collected  payments applied, by the month they were received.
    margins    value - delivered cost (billed and collected margins too: what the month's cost
               earned when billed, when paid).

    Ratios: realization = billed / delivered value; effective rate = billed / delivered billable
    hours; both for the month and to date. Estimate at completion (eac), taken at the period's
    end: the value (and cost) delivered to date plus the plan still ahead (planned after the
    period's end; for the as-of month, after the as-of date). eac_variance = sold - eac: positive
    when the work is planned to finish inside what was sold.

    Only the as-of month is incomplete; a month with no activity of its own still has a row
    (its to-date and eac figures carry on).
-#}

{%- set reporting_currency = var('reporting_currency') | upper %}

with

projects as (

    select * from {{ ref('dim_project') }}

),

contracts as (

    select * from {{ ref('dim_contract') }}

),

planned as (

    select * from {{ ref('int_projects__planned') }}

),

time_entries as (

    select * from {{ ref('fct_time_entry') }}
    where is_approved

),

invoice_lines as (

    select * from {{ ref('fct_invoice_line') }}
    where not is_draft

),

settlements as (

    select * from {{ ref('fct_payment') }}

),

leakage as (

    select * from {{ ref('revenue_leakage') }}
    where billing_month is not null

),

fx_rates as (

    select * from {{ ref('int_fx_rates__daily') }}

),

as_of as (

    select * from {{ ref('int_as_of__derived') }}

),

last_rate as (

    select max(rate_on) as last_rate_on from fx_rates

),

invoice_months as (

    select
        invoice_id,
        min(coalesce(billing_month, cast({{ dbt.date_trunc('month', 'invoiced_on') }} as date)))
            as service_month
    from invoice_lines
    group by invoice_id

),

delivered as (

    select
        time_entries.project_code,
        time_entries.spent_month as activity_month,
        sum(time_entries.hours) as delivered_hours,
        sum(time_entries.billable_hours) as delivered_billable_hours,
        sum(coalesce(time_entries.bill_amount, 0)) as delivered_amount,
        sum(coalesce(time_entries.bill_reporting_amount, 0)) as delivered_reporting_amount,
        sum(
            case
                when time_entries.cost_currency = time_entries.bill_currency
                    then time_entries.cost_amount
                else round(
                    cast(
                        time_entries.cost_amount * cost_fx.fx_rate / bill_fx.fx_rate
                        as decimal(18, 6)
                    ),
                    2
                )
            end
        ) as delivered_cost_amount,
        sum(time_entries.cost_reporting_amount) as delivered_cost_reporting_amount
    from time_entries
    left join fx_rates as cost_fx
        on cost_fx.currency = time_entries.cost_currency
        and cost_fx.rate_on = time_entries.spent_on
    left join fx_rates as bill_fx
        on bill_fx.currency = time_entries.bill_currency
        and bill_fx.rate_on = time_entries.spent_on
    group by 1, 2

),

invoiced as (

    select
        invoice_lines.project_code,
        invoice_months.service_month as activity_month,
        sum(invoice_lines.line_amount) as invoiced_amount,
        sum(invoice_lines.line_reporting_amount) as invoiced_reporting_amount
    from invoice_lines
    inner join invoice_months on invoice_months.invoice_id = invoice_lines.invoice_id
    group by 1, 2

),

credited as (

    select
        settlements.project_code,
        coalesce(
            invoice_months.service_month,
            cast({{ dbt.date_trunc('month', 'settlements.paid_on') }} as date)
        ) as activity_month,
        sum(settlements.payment_amount) as credited_amount,
        sum(settlements.payment_reporting_amount) as credited_reporting_amount
    from settlements
    left join invoice_months on invoice_months.invoice_id = settlements.invoice_id
    where settlements.is_credit_memo
    group by 1, 2

),

collected as (

    select
        project_code,
        cast({{ dbt.date_trunc('month', 'paid_on') }} as date) as activity_month,
        sum(payment_amount) as collected_amount,
        sum(payment_reporting_amount) as collected_reporting_amount
    from settlements
    where not is_credit_memo
    group by 1, 2

),

leaked as (

    select
        project_code,
        billing_month as activity_month,
        sum(leakage_amount) as leakage_amount,
        sum(leakage_reporting_amount) as leakage_reporting_amount
    from leakage
    group by 1, 2

),

activity_months as (

    select project_code, activity_month from delivered
    union all
    select project_code, activity_month from invoiced
    union all
    select project_code, activity_month from credited
    union all
    select project_code, activity_month from collected
    union all
    select project_code, planned_month from planned
    union all
    select project_code, activity_month from leaked
    union all
    -- a contract signed with nothing done yet (a won deal never set up) is sold all the same
    select project_code, cast({{ dbt.date_trunc('month', 'signed_on') }} as date) from contracts

),

project_spans as (

    select
        activity_months.project_code,
        min(activity_months.activity_month) as first_month,
        least(max(activity_months.activity_month), max(as_of.as_of_month)) as last_month
    from activity_months
    cross join as_of
    where activity_months.project_code is not null
    group by 1

),

digits as (

    select 0 as digit union all select 1 union all select 2 union all select 3
    union all select 4 union all select 5 union all select 6 union all select 7
    union all select 8 union all select 9

),

month_numbers as (

    select ones.digit + 10 * tens.digit + 100 * hundreds.digit as month_number
    from digits as ones
    cross join digits as tens
    cross join digits as hundreds

),

spine as (

    select
        project_spans.project_code,
        cast({{ dbt.dateadd('month', 'month_numbers.month_number', 'project_spans.first_month') }} as date)
            as margin_month
    from project_spans
    inner join month_numbers
        on month_numbers.month_number
        <= {{ dbt.datediff('project_spans.first_month', 'project_spans.last_month', 'month') }}

),

periods as (

    select
        spine.project_code,
        spine.margin_month,
        case
            when spine.margin_month = as_of.as_of_month then as_of.as_of_on
            else cast({{ dbt.last_day('spine.margin_month', 'month') }} as date)
        end as period_end_on,
        spine.margin_month = as_of.as_of_month as is_as_of_month,
        spine.margin_month <= coalesce(as_of.closed_through_month, cast('1900-01-01' as date))
            as is_closed
    from spine
    cross join as_of

),

sold as (

    -- the latest version signed by the period's end
    select project_code, margin_month, contract_value_amount as sold_amount
    from (
        select
            periods.project_code,
            periods.margin_month,
            contracts.contract_value_amount,
            row_number() over (
                partition by periods.project_code, periods.margin_month
                order by contracts.version_number desc
            ) as version_rank
        from periods
        inner join contracts
            on contracts.project_code = periods.project_code
            and contracts.signed_on <= periods.period_end_on
    ) as versions
    where version_rank = 1

),

planned_ahead as (

    -- the plan after the period's end
    select
        periods.project_code,
        periods.margin_month,
        sum(
            case when planned.planned_month > periods.margin_month then planned.planned_amount
            else planned.remaining_planned_amount end
        ) as remaining_planned_amount,
        sum(
            case when planned.planned_month > periods.margin_month then planned.planned_cost_amount
            else planned.remaining_planned_cost_amount end
        ) as remaining_planned_cost_amount,
        sum(
            case when planned.planned_month > periods.margin_month
                then planned.planned_reporting_amount
            else planned.remaining_planned_reporting_amount end
        ) as remaining_planned_reporting_amount,
        sum(
            case when planned.planned_month > periods.margin_month
                then planned.planned_cost_reporting_amount
            else planned.remaining_planned_cost_reporting_amount end
        ) as remaining_planned_cost_reporting_amount
    from periods
    inner join planned
        on planned.project_code = periods.project_code
        and (
            planned.planned_month > periods.margin_month
            or (planned.planned_month = periods.margin_month and periods.is_as_of_month)
        )
    group by 1, 2

),

joined as (

    select
        periods.project_code,
        projects.customer_id,
        periods.margin_month,
        projects.billing_model,
        projects.practice,
        projects.legal_entity,
        projects.project_currency as currency,
        periods.period_end_on,
        periods.is_closed,
        periods.is_as_of_month,
        coalesce(sold.sold_amount, 0) as sold_amount,
        cast(round(coalesce(sold.sold_amount, 0) * period_fx.fx_rate, 2) as decimal(18, 2))
            as sold_reporting_amount,
        coalesce(planned.planned_hours, 0) as planned_hours,
        coalesce(planned.planned_amount, 0) as planned_amount,
        coalesce(planned.planned_cost_amount, 0) as planned_cost_amount,
        coalesce(planned.planned_reporting_amount, 0) as planned_reporting_amount,
        coalesce(planned.planned_cost_reporting_amount, 0) as planned_cost_reporting_amount,
        coalesce(delivered.delivered_hours, 0) as delivered_hours,
        coalesce(delivered.delivered_billable_hours, 0) as delivered_billable_hours,
        coalesce(delivered.delivered_amount, 0) as delivered_amount,
        coalesce(delivered.delivered_cost_amount, 0) as delivered_cost_amount,
        coalesce(delivered.delivered_reporting_amount, 0) as delivered_reporting_amount,
        coalesce(delivered.delivered_cost_reporting_amount, 0) as delivered_cost_reporting_amount,
        coalesce(invoiced.invoiced_amount, 0) as invoiced_amount,
        coalesce(invoiced.invoiced_reporting_amount, 0) as invoiced_reporting_amount,
        coalesce(credited.credited_amount, 0) as credited_amount,
        coalesce(credited.credited_reporting_amount, 0) as credited_reporting_amount,
        coalesce(collected.collected_amount, 0) as collected_amount,
        coalesce(collected.collected_reporting_amount, 0) as collected_reporting_amount,
        coalesce(leaked.leakage_amount, 0) as leakage_amount,
        coalesce(leaked.leakage_reporting_amount, 0) as leakage_reporting_amount,
        coalesce(planned_ahead.remaining_planned_amount, 0) as remaining_planned_amount,
        coalesce(planned_ahead.remaining_planned_cost_amount, 0) as remaining_planned_cost_amount,
        coalesce(planned_ahead.remaining_planned_reporting_amount, 0)
            as remaining_planned_reporting_amount,
        coalesce(planned_ahead.remaining_planned_cost_reporting_amount, 0)
            as remaining_planned_cost_reporting_amount
    from periods
    cross join last_rate
    left join projects on projects.project_code = periods.project_code
    left join sold
        on sold.project_code = periods.project_code and sold.margin_month = periods.margin_month
    left join planned
        on planned.project_code = periods.project_code
        and planned.planned_month = periods.margin_month
    left join delivered
        on delivered.project_code = periods.project_code
        and delivered.activity_month = periods.margin_month
    left join invoiced
        on invoiced.project_code = periods.project_code
        and invoiced.activity_month = periods.margin_month
    left join credited
        on credited.project_code = periods.project_code
        and credited.activity_month = periods.margin_month
    left join collected
        on collected.project_code = periods.project_code
        and collected.activity_month = periods.margin_month
    left join leaked
        on leaked.project_code = periods.project_code
        and leaked.activity_month = periods.margin_month
    left join planned_ahead
        on planned_ahead.project_code = periods.project_code
        and planned_ahead.margin_month = periods.margin_month
    left join fx_rates as period_fx
        on period_fx.currency = projects.project_currency
        and period_fx.rate_on = least(periods.period_end_on, last_rate.last_rate_on)

),

waterfall as (

    select
        *,
        invoiced_amount - credited_amount as billed_amount,
        invoiced_reporting_amount - credited_reporting_amount as billed_reporting_amount,
        sum(delivered_amount) over to_date as delivered_to_date_amount,
        sum(delivered_cost_amount) over to_date as delivered_cost_to_date_amount,
        sum(delivered_billable_hours) over to_date as delivered_billable_hours_to_date,
        sum(invoiced_amount - credited_amount) over to_date as billed_to_date_amount,
        sum(collected_amount) over to_date as collected_to_date_amount,
        sum(delivered_reporting_amount) over to_date as delivered_to_date_reporting_amount,
        sum(delivered_cost_reporting_amount) over to_date
            as delivered_cost_to_date_reporting_amount,
        sum(invoiced_reporting_amount - credited_reporting_amount) over to_date
            as billed_to_date_reporting_amount,
        sum(collected_reporting_amount) over to_date as collected_to_date_reporting_amount
    from joined
    window to_date as (
        partition by project_code order by margin_month
        rows between unbounded preceding and current row
    )

),

final as (

    select

        ---------- ids
        {{ dbt.concat([
            'project_code', "'-'", dbt.safe_cast('margin_month', dbt.type_string()),
        ]) }} as project_margin_month_id,
        project_code,
        customer_id,

        ---------- text
        billing_model,
        currency,
        '{{ reporting_currency }}' as reporting_currency,
        practice,
        legal_entity,

        ---------- numerics: sold
        cast(sold_amount as decimal(18, 2)) as sold_amount,
        cast(sold_reporting_amount as decimal(18, 2)) as sold_reporting_amount,

        ---------- numerics: planned
        cast(planned_hours as decimal(18, 4)) as planned_hours,
        cast(planned_amount as decimal(18, 2)) as planned_amount,
        cast(planned_cost_amount as decimal(18, 2)) as planned_cost_amount,
        cast(planned_amount - planned_cost_amount as decimal(18, 2)) as planned_margin_amount,
        cast(planned_reporting_amount as decimal(18, 2)) as planned_reporting_amount,
        cast(planned_cost_reporting_amount as decimal(18, 2)) as planned_cost_reporting_amount,
        cast(planned_reporting_amount - planned_cost_reporting_amount as decimal(18, 2))
            as planned_margin_reporting_amount,

        ---------- numerics: delivered
        cast(delivered_hours as decimal(18, 4)) as delivered_hours,
        cast(delivered_billable_hours as decimal(18, 4)) as delivered_billable_hours,
        cast(delivered_amount as decimal(18, 2)) as delivered_amount,
        cast(delivered_cost_amount as decimal(18, 2)) as delivered_cost_amount,
        cast(delivered_amount - delivered_cost_amount as decimal(18, 2)) as delivered_margin_amount,
        cast(delivered_reporting_amount as decimal(18, 2)) as delivered_reporting_amount,
        cast(delivered_cost_reporting_amount as decimal(18, 2)) as delivered_cost_reporting_amount,
        cast(delivered_reporting_amount - delivered_cost_reporting_amount as decimal(18, 2))
            as delivered_margin_reporting_amount,

        ---------- numerics: billed
        cast(invoiced_amount as decimal(18, 2)) as invoiced_amount,
        cast(credited_amount as decimal(18, 2)) as credited_amount,
        cast(billed_amount as decimal(18, 2)) as billed_amount,
        cast(billed_amount - delivered_cost_amount as decimal(18, 2)) as billed_margin_amount,
        cast(invoiced_reporting_amount as decimal(18, 2)) as invoiced_reporting_amount,
        cast(credited_reporting_amount as decimal(18, 2)) as credited_reporting_amount,
        cast(billed_reporting_amount as decimal(18, 2)) as billed_reporting_amount,
        cast(billed_reporting_amount - delivered_cost_reporting_amount as decimal(18, 2))
            as billed_margin_reporting_amount,
        cast(leakage_amount as decimal(18, 2)) as leakage_amount,
        cast(leakage_reporting_amount as decimal(18, 2)) as leakage_reporting_amount,

        ---------- numerics: collected
        cast(collected_amount as decimal(18, 2)) as collected_amount,
        cast(collected_amount - delivered_cost_amount as decimal(18, 2)) as collected_margin_amount,
        cast(collected_reporting_amount as decimal(18, 2)) as collected_reporting_amount,
        cast(collected_reporting_amount - delivered_cost_reporting_amount as decimal(18, 2))
            as collected_margin_reporting_amount,

        ---------- numerics: ratios
        case when delivered_amount <> 0
            then cast(billed_amount / delivered_amount as decimal(18, 4))
        end as realization_ratio,
        case when delivered_billable_hours <> 0
            then cast(billed_amount / delivered_billable_hours as decimal(18, 2))
        end as effective_rate_amount,
        case when delivered_billable_hours <> 0
            then cast(billed_reporting_amount / delivered_billable_hours as decimal(18, 2))
        end as effective_rate_reporting_amount,

        ---------- numerics: to date and at completion
        cast(delivered_to_date_amount as decimal(18, 2)) as delivered_to_date_amount,
        cast(delivered_cost_to_date_amount as decimal(18, 2)) as delivered_cost_to_date_amount,
        cast(billed_to_date_amount as decimal(18, 2)) as billed_to_date_amount,
        cast(collected_to_date_amount as decimal(18, 2)) as collected_to_date_amount,
        case when delivered_to_date_amount <> 0
            then cast(billed_to_date_amount / delivered_to_date_amount as decimal(18, 4))
        end as realization_to_date_ratio,
        case when delivered_billable_hours_to_date <> 0
            then cast(billed_to_date_amount / delivered_billable_hours_to_date as decimal(18, 2))
        end as effective_rate_to_date_amount,
        cast(remaining_planned_amount as decimal(18, 2)) as remaining_planned_amount,
        cast(remaining_planned_cost_amount as decimal(18, 2)) as remaining_planned_cost_amount,
        cast(delivered_to_date_amount + remaining_planned_amount as decimal(18, 2)) as eac_amount,
        cast(delivered_cost_to_date_amount + remaining_planned_cost_amount as decimal(18, 2))
            as eac_cost_amount,
        cast(
            delivered_to_date_amount + remaining_planned_amount
            - delivered_cost_to_date_amount - remaining_planned_cost_amount
            as decimal(18, 2)
        ) as eac_margin_amount,
        cast(sold_amount - delivered_to_date_amount - remaining_planned_amount as decimal(18, 2))
            as eac_variance_amount,
        cast(delivered_to_date_reporting_amount as decimal(18, 2))
            as delivered_to_date_reporting_amount,
        cast(delivered_cost_to_date_reporting_amount as decimal(18, 2))
            as delivered_cost_to_date_reporting_amount,
        cast(billed_to_date_reporting_amount as decimal(18, 2)) as billed_to_date_reporting_amount,
        cast(collected_to_date_reporting_amount as decimal(18, 2))
            as collected_to_date_reporting_amount,
        cast(remaining_planned_reporting_amount as decimal(18, 2))
            as remaining_planned_reporting_amount,
        cast(remaining_planned_cost_reporting_amount as decimal(18, 2))
            as remaining_planned_cost_reporting_amount,
        cast(delivered_to_date_reporting_amount + remaining_planned_reporting_amount as decimal(18, 2))
            as eac_reporting_amount,
        cast(
            delivered_cost_to_date_reporting_amount + remaining_planned_cost_reporting_amount
            as decimal(18, 2)
        ) as eac_cost_reporting_amount,
        cast(
            delivered_to_date_reporting_amount + remaining_planned_reporting_amount
            - delivered_cost_to_date_reporting_amount - remaining_planned_cost_reporting_amount
            as decimal(18, 2)
        ) as eac_margin_reporting_amount,

        ---------- dates
        margin_month,
        period_end_on,

        ---------- flags
        is_closed,
        is_as_of_month

    from waterfall

)

select * from final
