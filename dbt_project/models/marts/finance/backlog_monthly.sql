{#-
    Backlog, one row per project and month (project_margin_monthly's rows): what was sold and
    is not delivered yet, taken at the period's end (the month's last day; for the as-of month,
    the as-of date), in the project's currency and in the reporting currency at the period
    end's rate.

    backlog      sold (the latest contract version signed by then) less the value delivered to
                 date (approved billable time at the contract rates), never below zero; what was
                 delivered beyond the sold value is overrun_amount.
    scheduled    the part of the backlog the PSA plan covers after the period's end
                 (int_projects__planned: the assigned team's future availability at the
                 contract rates), at most the backlog.
    unscheduled  the rest: sold, but no one is planned to deliver it (a won deal never set up
                 is all unscheduled).

    Past months are re-read against today's plan: the PSA keeps no history of its plans.
-#}

{%- set reporting_currency = var('reporting_currency') | upper %}

with

margin as (

    select * from {{ ref('project_margin_monthly') }}

),

fx_rates as (

    select * from {{ ref('int_fx_rates__daily') }}

),

last_rate as (

    select max(rate_on) as last_rate_on from fx_rates

),

backlog as (

    select
        margin.*,
        case when sold_amount > delivered_to_date_amount
            then sold_amount - delivered_to_date_amount else 0 end as backlog_amount,
        case when delivered_to_date_amount > sold_amount
            then delivered_to_date_amount - sold_amount else 0 end as overrun_amount
    from margin

),

split as (

    select
        backlog.*,
        case when remaining_planned_amount < backlog_amount
            then remaining_planned_amount else backlog_amount end as scheduled_amount
    from backlog

),

final as (

    select

        ---------- ids
        split.project_margin_month_id as backlog_month_id,
        split.project_code,
        split.customer_id,

        ---------- text
        split.billing_model,
        split.currency,
        '{{ reporting_currency }}' as reporting_currency,
        split.practice,
        split.legal_entity,

        ---------- numerics
        split.sold_amount,
        split.delivered_to_date_amount,
        split.remaining_planned_amount,
        cast(split.backlog_amount as decimal(18, 2)) as backlog_amount,
        cast(split.scheduled_amount as decimal(18, 2)) as scheduled_backlog_amount,
        cast(split.backlog_amount - split.scheduled_amount as decimal(18, 2))
            as unscheduled_backlog_amount,
        cast(split.overrun_amount as decimal(18, 2)) as overrun_amount,
        cast(round(split.backlog_amount * fx_rates.fx_rate, 2) as decimal(18, 2))
            as backlog_reporting_amount,
        cast(round(split.scheduled_amount * fx_rates.fx_rate, 2) as decimal(18, 2))
            as scheduled_backlog_reporting_amount,
        cast(
            round(split.backlog_amount * fx_rates.fx_rate, 2)
            - round(split.scheduled_amount * fx_rates.fx_rate, 2)
            as decimal(18, 2)
        ) as unscheduled_backlog_reporting_amount,
        cast(round(split.overrun_amount * fx_rates.fx_rate, 2) as decimal(18, 2))
            as overrun_reporting_amount,

        ---------- dates
        split.margin_month as backlog_month,
        split.period_end_on,

        ---------- flags
        split.is_as_of_month

    from split
    cross join last_rate
    left join fx_rates
        on fx_rates.currency = split.currency
        and fx_rates.rate_on = least(split.period_end_on, last_rate.last_rate_on)

)

select * from final
