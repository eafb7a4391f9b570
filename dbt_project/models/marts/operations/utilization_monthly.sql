{#-
    Utilization, one row per consultant (HR employee) and month, up to the as-of date
    (int_as_of__derived): billable hours over available hours.

    available  HR capacity (fte x the standard day) on each weekday while employed, less
               approved time off on weekdays (int_resource_days__available); for the as-of
               month, only the days up to the as-of date.
    worked     every hour the person logged in Harvest that month up to the as-of date,
               approved or not (utilization is about where the time went; fct_time_entry);
               billable the part on billable entries.
    utilization_ratio = billable / available; worked_ratio = worked / available (null when
    nothing was available). The practice is HR's department; utilization_practice_monthly adds
    the rows up per practice.
-#}

with

available_days as (

    select * from {{ ref('int_resource_days__available') }}

),

time_entries as (

    select * from {{ ref('fct_time_entry') }}
    where resource_id is not null

),

resources as (

    select * from {{ ref('dim_resource') }}

),

as_of as (

    select * from {{ ref('int_as_of__derived') }}

),

available as (

    select
        available_days.employee_id as resource_id,
        available_days.day_month as utilization_month,
        count(*) as working_days,
        sum(case when available_days.is_time_off then 1 else 0 end) as time_off_days,
        sum(available_days.capacity_hours) as capacity_hours,
        sum(available_days.time_off_hours) as time_off_hours,
        sum(available_days.available_hours) as available_hours
    from available_days
    cross join as_of
    where available_days.day_on <= as_of.as_of_on
    group by 1, 2

),

worked as (

    select
        time_entries.resource_id,
        time_entries.spent_month as utilization_month,
        sum(time_entries.hours) as worked_hours,
        sum(time_entries.billable_hours) as billable_hours
    from time_entries
    cross join as_of
    where time_entries.spent_on <= as_of.as_of_on
    group by 1, 2

),

keys as (

    select resource_id, utilization_month from available
    union
    select resource_id, utilization_month from worked

),

final as (

    select

        ---------- ids
        {{ dbt.concat([
            dbt.safe_cast('keys.resource_id', dbt.type_string()), "'-'",
            dbt.safe_cast('keys.utilization_month', dbt.type_string()),
        ]) }} as utilization_month_id,
        keys.resource_id,

        ---------- text
        resources.full_name,
        resources.practice,
        resources.role_key,
        resources.legal_entity,

        ---------- numerics
        cast(coalesce(available.working_days, 0) as integer) as working_days,
        cast(coalesce(available.time_off_days, 0) as integer) as time_off_days,
        cast(coalesce(available.capacity_hours, 0) as decimal(18, 4)) as capacity_hours,
        cast(coalesce(available.time_off_hours, 0) as decimal(18, 4)) as time_off_hours,
        cast(coalesce(available.available_hours, 0) as decimal(18, 4)) as available_hours,
        cast(coalesce(worked.worked_hours, 0) as decimal(18, 4)) as worked_hours,
        cast(coalesce(worked.billable_hours, 0) as decimal(18, 4)) as billable_hours,
        cast(coalesce(worked.worked_hours, 0) - coalesce(worked.billable_hours, 0) as decimal(18, 4))
            as non_billable_hours,
        case when available.available_hours > 0
            then cast(coalesce(worked.billable_hours, 0) / available.available_hours as decimal(18, 4))
        end as utilization_ratio,
        case when available.available_hours > 0
            then cast(coalesce(worked.worked_hours, 0) / available.available_hours as decimal(18, 4))
        end as worked_ratio,

        ---------- dates
        keys.utilization_month

    from keys
    left join available
        on available.resource_id = keys.resource_id
        and available.utilization_month = keys.utilization_month
    left join worked
        on worked.resource_id = keys.resource_id
        and worked.utilization_month = keys.utilization_month
    left join resources on resources.resource_id = keys.resource_id

)

select * from final
