{#-
    The plan, one row per project and month: the hours the PSA has the team working on the
    project, what they are worth at the contract's bill rates and what they cost at HR's cost
    rates. Kantata holds who is assigned to which workspace (assignments on its task stories)
    and the workspace's start and due dates, but no hours, so the hours are the team's
    availability shared out: each assigned person's available hours on a weekday
    (int_resource_days__available: capacity less time off, while employed) are split evenly
    across the workspaces they are assigned to that are running that day (start <= day <= due).

    Each planned hour is valued at the contract version in force on the day for the person's
    role (version 1 before it takes effect) and costed at the person's HR cost rate in force
    on the day, converted into the contract currency through the day's rates
    (int_fx_rates__daily; a day past the last quoted rate takes the last one). The remaining_*
    columns are the part of the month after the as-of date (int_as_of__derived): the plan
    still to deliver.
-#}

{%- set reporting_currency = var('reporting_currency') | upper %}

with

assignments as (

    select * from {{ ref('stg_kantata__assignments') }}

),

workspaces as (

    select * from {{ ref('stg_kantata__workspaces') }}
    where project_code is not null

),

resources as (

    select * from {{ ref('dim_resource') }}
    where psa_user_id is not null

),

available_days as (

    select * from {{ ref('int_resource_days__available') }}

),

contract_rates as (

    select * from {{ ref('int_contract_rates__unpivoted') }}

),

compensation as (

    select * from {{ ref('stg_bamboohr__compensation') }}

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

team as (

    select distinct
        workspaces.project_code,
        workspaces.starts_on,
        workspaces.due_on,
        resources.resource_id as employee_id
    from assignments
    inner join workspaces on workspaces.workspace_id = assignments.workspace_id
    inner join resources on resources.psa_user_id = assignments.psa_user_id

),

staffed_days as (

    select
        team.project_code,
        available_days.employee_id,
        available_days.role_key,
        available_days.day_on,
        available_days.available_hours,
        count(*) over (partition by available_days.employee_id, available_days.day_on)
            as concurrent_projects
    from team
    inner join available_days
        on available_days.employee_id = team.employee_id
        and available_days.day_on between team.starts_on and team.due_on
    where available_days.available_hours > 0

),

rate_spans as (

    -- version 1 is in force before it takes effect too
    select
        project_code,
        role_key,
        bill_rate_amount,
        bill_rate_currency,
        case when version_number = 1 then cast('1900-01-01' as date) else effective_on end
            as valid_from,
        superseded_on as valid_to
    from contract_rates
    where project_code is not null

),

valued as (

    select
        staffed_days.project_code,
        staffed_days.day_on,
        cast(staffed_days.available_hours / staffed_days.concurrent_projects as decimal(18, 4))
            as planned_hours,
        rate_spans.bill_rate_currency as currency,
        cast(
            round(
                cast(
                    staffed_days.available_hours * rate_spans.bill_rate_amount
                    / staffed_days.concurrent_projects
                    as decimal(18, 6)
                ),
                2
            ) as decimal(18, 2)
        ) as planned_amount,
        cast(
            round(
                cast(
                    staffed_days.available_hours * compensation.cost_rate_amount
                    / staffed_days.concurrent_projects
                    as decimal(18, 6)
                ),
                2
            ) as decimal(18, 2)
        ) as cost_amount,
        compensation.cost_rate_currency as cost_currency,
        least(staffed_days.day_on, last_rate.last_rate_on) as rate_on
    from staffed_days
    cross join last_rate
    inner join rate_spans
        on rate_spans.project_code = staffed_days.project_code
        and rate_spans.role_key = staffed_days.role_key
        and staffed_days.day_on >= rate_spans.valid_from
        and (rate_spans.valid_to is null or staffed_days.day_on < rate_spans.valid_to)
    left join compensation
        on compensation.employee_id = staffed_days.employee_id
        and staffed_days.day_on >= compensation.effective_on
        and (compensation.superseded_on is null or staffed_days.day_on < compensation.superseded_on)

),

converted as (

    select
        valued.project_code,
        valued.day_on,
        valued.currency,
        valued.planned_hours,
        valued.planned_amount,
        cast(round(valued.planned_amount * value_fx.fx_rate, 2) as decimal(18, 2))
            as planned_reporting_amount,
        case
            when valued.cost_currency = valued.currency then valued.cost_amount
            else cast(
                round(
                    cast(valued.cost_amount * cost_fx.fx_rate / value_fx.fx_rate as decimal(18, 6)),
                    2
                ) as decimal(18, 2)
            )
        end as planned_cost_amount,
        cast(round(valued.cost_amount * cost_fx.fx_rate, 2) as decimal(18, 2))
            as planned_cost_reporting_amount
    from valued
    left join fx_rates as value_fx
        on value_fx.currency = valued.currency
        and value_fx.rate_on = valued.rate_on
    left join fx_rates as cost_fx
        on cost_fx.currency = valued.cost_currency
        and cost_fx.rate_on = valued.rate_on

),

final as (

    select

        ---------- ids
        {{ dbt.concat([
            'converted.project_code', "'-'",
            dbt.safe_cast(dbt.date_trunc('month', 'converted.day_on'), dbt.type_string()),
        ]) }} as project_month_id,
        converted.project_code,
        cast({{ dbt.date_trunc('month', 'converted.day_on') }} as date) as planned_month,

        ---------- numerics
        converted.currency,
        '{{ reporting_currency }}' as reporting_currency,
        cast(sum(converted.planned_hours) as decimal(18, 4)) as planned_hours,
        cast(sum(converted.planned_amount) as decimal(18, 2)) as planned_amount,
        cast(sum(converted.planned_cost_amount) as decimal(18, 2)) as planned_cost_amount,
        cast(sum(converted.planned_reporting_amount) as decimal(18, 2)) as planned_reporting_amount,
        cast(sum(converted.planned_cost_reporting_amount) as decimal(18, 2))
            as planned_cost_reporting_amount,
        cast(sum(case when converted.day_on > as_of.as_of_on then converted.planned_hours else 0 end)
            as decimal(18, 4)) as remaining_planned_hours,
        cast(sum(case when converted.day_on > as_of.as_of_on then converted.planned_amount else 0 end)
            as decimal(18, 2)) as remaining_planned_amount,
        cast(sum(case when converted.day_on > as_of.as_of_on then converted.planned_cost_amount else 0 end)
            as decimal(18, 2)) as remaining_planned_cost_amount,
        cast(sum(case when converted.day_on > as_of.as_of_on then converted.planned_reporting_amount else 0 end)
            as decimal(18, 2)) as remaining_planned_reporting_amount,
        cast(sum(case when converted.day_on > as_of.as_of_on then converted.planned_cost_reporting_amount else 0 end)
            as decimal(18, 2)) as remaining_planned_cost_reporting_amount

    from converted
    cross join as_of
    group by 1, 2, 3, 4

)

select * from final
