{#-
    Every working day of every person while employed, one row per employee and weekday, with
    the hours they are available for work: HR capacity (fte x the standard day, var
    standard_day_hours, in stg_bamboohr__employees.daily_capacity_hours) on a weekday, none on a
    day of approved time off. Employed means hired_on <= day < terminated_on (HR's termination
    date is the first day no longer employed). Weekends are not working days, so they are not
    rows, and time off on a weekend takes nothing off (HR counts leave in calendar days).
    A day of time off is a whole day off (requests are in days).

    The calendar runs from the first month anyone logged time (or the as-of month) to the
    later of the as-of month's end and the last due date of a PSA workspace, so the same days
    serve utilization (the past) and the plan (int_projects__planned, the future). Future
    days assume everyone stays: HR records a leaver on the day they leave.
-#}

with

employees as (

    select * from {{ ref('stg_bamboohr__employees') }}

),

time_off as (

    select * from {{ ref('stg_bamboohr__time_off') }}
    where is_approved

),

as_of as (

    select * from {{ ref('int_as_of__derived') }}

),

bounds as (

    select
        cast(
            least(
                coalesce(
                    (select min({{ dbt.date_trunc('month', 'spent_on') }})
                        from {{ ref('stg_harvest__time_entries') }}),
                    as_of.as_of_month
                ),
                as_of.as_of_month
            ) as date
        ) as first_on,
        cast(
            greatest(
                {{ dbt.last_day('as_of.as_of_on', 'month') }},
                coalesce(
                    (select max(due_on) from {{ ref('stg_kantata__workspaces') }}),
                    as_of.as_of_on
                )
            ) as date
        ) as last_on
    from as_of

),

digits as (

    select 0 as digit union all select 1 union all select 2 union all select 3
    union all select 4 union all select 5 union all select 6 union all select 7
    union all select 8 union all select 9

),

day_numbers as (

    -- 0 .. 9,999: some 27 years of days, portably (no generate_series)
    select ones.digit + 10 * tens.digit + 100 * hundreds.digit + 1000 * thousands.digit
        as day_number
    from digits as ones
    cross join digits as tens
    cross join digits as hundreds
    cross join digits as thousands

),

calendar as (

    select cast({{ dbt.dateadd('day', 'day_numbers.day_number', 'bounds.first_on') }} as date)
        as day_on
    from bounds
    inner join day_numbers
        on day_numbers.day_number <= {{ dbt.datediff('bounds.first_on', 'bounds.last_on', 'day') }}

),

weekdays as (

    -- day of week 0 is Sunday, 6 Saturday, on DuckDB and Postgres alike
    select day_on from calendar
    where extract(dow from day_on) not in (0, 6)

),

employed_days as (

    select
        employees.employee_id,
        employees.department as practice,
        employees.role_key,
        employees.division as legal_entity,
        employees.fte,
        employees.daily_capacity_hours,
        weekdays.day_on
    from employees
    inner join weekdays
        on weekdays.day_on >= employees.hired_on
        and (employees.terminated_on is null or weekdays.day_on < employees.terminated_on)

),

days_off as (

    select distinct
        employed_days.employee_id,
        employed_days.day_on
    from employed_days
    inner join time_off
        on time_off.employee_id = employed_days.employee_id
        and employed_days.day_on between time_off.starts_on and time_off.ends_on

),

final as (

    select

        ---------- ids
        {{ dbt.concat([
            dbt.safe_cast('employed_days.employee_id', dbt.type_string()), "'-'",
            dbt.safe_cast('employed_days.day_on', dbt.type_string()),
        ]) }} as resource_day_id,
        employed_days.employee_id,

        ---------- text
        employed_days.practice,
        employed_days.role_key,
        employed_days.legal_entity,

        ---------- numerics
        employed_days.fte,
        cast(employed_days.daily_capacity_hours as decimal(18, 4)) as capacity_hours,
        cast(
            case when days_off.employee_id is not null then employed_days.daily_capacity_hours
            else 0 end
            as decimal(18, 4)
        ) as time_off_hours,
        cast(
            case when days_off.employee_id is not null then 0
            else employed_days.daily_capacity_hours end
            as decimal(18, 4)
        ) as available_hours,

        ---------- dates
        employed_days.day_on,
        cast({{ dbt.date_trunc('month', 'employed_days.day_on') }} as date) as day_month,

        ---------- flags
        days_off.employee_id is not null as is_time_off

    from employed_days
    left join days_off
        on days_off.employee_id = employed_days.employee_id
        and days_off.day_on = employed_days.day_on

)

select * from final
