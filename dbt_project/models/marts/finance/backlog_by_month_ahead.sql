{#-
    Today's backlog laid out over the months ahead, one row per project with backlog at the
    as-of date and month from the as-of month to the last month anyone is planned: how much of
    it the PSA plan delivers in each month (scheduled), how much is left at each month's end,
    and how much no one is planned to deliver at all (unscheduled).

    The backlog and its split are backlog_monthly's for the as-of month: sold less delivered to
    date, scheduled = least(the plan after the as-of date, the backlog). Month by month, the plan
    (int_projects__planned's remaining_* columns: the days after the as-of date) is taken in
    order until the backlog is used up, so the scheduled months add up to backlog_monthly's
    scheduled_backlog_amount to the cent and what is left after the last month is its
    unscheduled_backlog_amount. A project with backlog and no plan (a won deal never set up) has
    a row for every month, all of it unscheduled, so each month's totals cover every project.

    Amounts in the project's currency and in the reporting currency at the as-of date's rate
    (the last quoted rate if later), like backlog_monthly's as-of month.
-#}

{%- set reporting_currency = var('reporting_currency') | upper %}

with

backlog as (

    select * from {{ ref('backlog_monthly') }}
    where is_as_of_month and backlog_amount > 0

),

planned as (

    select * from {{ ref('int_projects__planned') }}

),

as_of as (

    select * from {{ ref('int_as_of__derived') }}

),

fx_rates as (

    select * from {{ ref('int_fx_rates__daily') }}

),

last_rate as (

    select max(rate_on) as last_rate_on from fx_rates

),

months_ahead as (

    -- through the last month a project with backlog is planned
    select as_of_month as schedule_month from as_of
    union
    select planned.planned_month
    from planned
    cross join as_of
    inner join backlog on backlog.project_code = planned.project_code
    where planned.planned_month > as_of.as_of_month
        and planned.remaining_planned_amount > 0

),

plan_by_month as (

    select
        project_code,
        planned_month,
        sum(remaining_planned_amount) as remaining_planned_amount
    from planned
    group by 1, 2

),

project_months as (

    select
        backlog.project_code,
        months_ahead.schedule_month,
        backlog.backlog_amount,
        coalesce(plan_by_month.remaining_planned_amount, 0) as remaining_planned_amount
    from backlog
    cross join months_ahead
    left join plan_by_month
        on plan_by_month.project_code = backlog.project_code
        and plan_by_month.planned_month = months_ahead.schedule_month

),

planned_through as (

    select
        project_months.*,
        sum(remaining_planned_amount) over (
            partition by project_code order by schedule_month rows unbounded preceding
        ) as planned_through_amount
    from project_months

),

scheduled as (

    -- the backlog used up in month order: what is left after the month, and what the month took
    select
        project_code,
        schedule_month,
        backlog_amount,
        case when planned_through_amount < backlog_amount
            then backlog_amount - planned_through_amount else 0 end as remaining_backlog_amount,
        case when planned_through_amount - remaining_planned_amount < backlog_amount
            then backlog_amount - (planned_through_amount - remaining_planned_amount)
            else 0 end as remaining_before_amount
    from planned_through

),

unscheduled as (

    select project_code, min(remaining_backlog_amount) as unscheduled_amount
    from scheduled
    group by 1

),

final as (

    select

        ---------- ids
        {{ dbt.concat([
            'scheduled.project_code', "'-'",
            dbt.safe_cast('scheduled.schedule_month', dbt.type_string()),
        ]) }} as backlog_month_ahead_id,
        scheduled.project_code,
        backlog.customer_id,

        ---------- text
        backlog.billing_model,
        backlog.currency,
        '{{ reporting_currency }}' as reporting_currency,
        backlog.practice,
        backlog.legal_entity,

        ---------- numerics
        cast({{ dbt.datediff('as_of.as_of_month', 'scheduled.schedule_month', 'month') }} as integer)
            as months_ahead,
        cast(scheduled.backlog_amount as decimal(18, 2)) as backlog_amount,
        cast(scheduled.remaining_before_amount - scheduled.remaining_backlog_amount as decimal(18, 2))
            as scheduled_amount,
        cast(scheduled.remaining_backlog_amount as decimal(18, 2)) as remaining_backlog_amount,
        cast(unscheduled.unscheduled_amount as decimal(18, 2)) as unscheduled_backlog_amount,
        cast(
            round((scheduled.remaining_before_amount - scheduled.remaining_backlog_amount) * fx_rates.fx_rate, 2)
            as decimal(18, 2)
        ) as scheduled_reporting_amount,
        cast(round(scheduled.remaining_backlog_amount * fx_rates.fx_rate, 2) as decimal(18, 2))
            as remaining_backlog_reporting_amount,
        cast(round(unscheduled.unscheduled_amount * fx_rates.fx_rate, 2) as decimal(18, 2))
            as unscheduled_backlog_reporting_amount,

        ---------- dates
        scheduled.schedule_month,
        as_of.as_of_on

    from scheduled
    cross join as_of
    cross join last_rate
    inner join backlog on backlog.project_code = scheduled.project_code
    inner join unscheduled on unscheduled.project_code = scheduled.project_code
    left join fx_rates
        on fx_rates.currency = backlog.currency
        and fx_rates.rate_on = least(as_of.as_of_on, last_rate.last_rate_on)

)

select * from final
