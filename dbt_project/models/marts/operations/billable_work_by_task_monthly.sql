{#-
    Billable work by the kind of work done, one row per Harvest task, month, practice and legal
    entity: the approved time booked to the task (fct_time_entry; unapproved time is not
    delivered yet, as in project_margin_monthly), how much of it is billable, and what it is
    worth in the reporting currency - delivered at the contract's rates, billed by the ERP,
    and costed at HR's rates, each at the rate of the day worked. Practice and legal entity are
    the project's (dim_project), so a page filters on them and sums the rest; rows of one task
    and month add up to the task's month.
-#}

{%- set reporting_currency = var('reporting_currency') | upper %}

with

time_entries as (

    select * from {{ ref('fct_time_entry') }}
    where is_approved

),

projects as (

    select * from {{ ref('dim_project') }}

),

grouped as (

    select
        time_entries.harvest_task_id,
        time_entries.spent_month as work_month,
        projects.practice,
        projects.legal_entity,
        time_entries.is_task_billable_by_default,
        min(time_entries.task_name) as task_name,
        count(*) as time_entry_count,
        sum(time_entries.hours) as hours,
        sum(time_entries.billable_hours) as billable_hours,
        sum(coalesce(time_entries.bill_reporting_amount, 0)) as delivered_reporting_amount,
        sum(time_entries.billed_reporting_amount) as billed_reporting_amount,
        sum(coalesce(time_entries.cost_reporting_amount, 0)) as cost_reporting_amount
    from time_entries
    left join projects on projects.project_code = time_entries.project_code
    group by 1, 2, 3, 4, 5

),

final as (

    select

        ---------- ids
        {{ dbt.concat([
            "coalesce(" ~ dbt.cast('harvest_task_id', dbt.type_string()) ~ ", 'none')", "':'",
            dbt.cast('work_month', dbt.type_string()), "':'",
            "coalesce(practice, 'none')", "':'", "coalesce(legal_entity, 'none')",
        ]) }} as billable_work_month_id,
        harvest_task_id,

        ---------- text
        task_name,
        practice,
        legal_entity,
        '{{ reporting_currency }}' as reporting_currency,

        ---------- numerics
        time_entry_count,
        cast(hours as decimal(18, 4)) as hours,
        cast(billable_hours as decimal(18, 4)) as billable_hours,
        cast(hours - billable_hours as decimal(18, 4)) as non_billable_hours,
        case when hours <> 0 then cast(billable_hours / hours as decimal(18, 4)) end
            as billable_ratio,
        cast(delivered_reporting_amount as decimal(18, 2)) as delivered_reporting_amount,
        cast(billed_reporting_amount as decimal(18, 2)) as billed_reporting_amount,
        cast(cost_reporting_amount as decimal(18, 2)) as cost_reporting_amount,

        ---------- dates
        work_month,

        ---------- flags
        is_task_billable_by_default

    from grouped

)

select * from final
