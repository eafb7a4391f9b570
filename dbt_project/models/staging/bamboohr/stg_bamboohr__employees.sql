{#-
    BambooHR employees, one row per employee, leavers included. The firm keeps the consultant's
    role in jobTitle, the practice in department and the employing legal entity in division.
    An employee works from hired_on up to, not including, terminated_on.

    Capacity: BambooHR has no FTE field. The connector lands the tenant's capacity field as
    `capacity` in `capacity_unit`: the standard standardHoursPerWeek (hours_per_week, divided by
    the full-time week, var full_time_week_hours, 40 by default), or an FTE share kept in a
    custom field (fte). HR with nothing filled in counts as full time. The working day is the
    FTE share of a standard day (var standard_day_hours, 8 by default).
-#}

{%- set standard_day_hours = var('standard_day_hours', 8) %}
{%- set full_time_week_hours = var('full_time_week_hours', 40) %}

with

source as (

    {{ latest_by_key(source('bamboohr', 'employees'), 'id') }}

),

shares as (

    select
        *,
        cast(coalesce(
            case
                when capacity_unit = 'fte' then capacity
                else capacity / {{ full_time_week_hours }}
            end,
            1
        ) as decimal(18, 4)) as fte_share
    from source

),

renamed as (

    select

        ----------  ids
        cast(id as bigint) as employee_id,
        cast(nullif(trim(supervisor_e_id), '') as bigint) as supervisor_employee_id,

        ---------- text
        trim(first_name) as first_name,
        trim(last_name) as last_name,
        {{ dbt.concat(["trim(first_name)", "' '", "trim(last_name)"]) }} as full_name,
        lower(nullif(trim(work_email), '')) as email,
        trim(job_title) as job_title,
        lower(replace(trim(job_title), ' ', '_')) as role_key,
        trim(department) as department,
        trim(division) as division,
        trim(location) as location,
        status as employment_status,

        ---------- numerics
        fte_share as fte,
        cast(fte_share * {{ standard_day_hours }} as decimal(18, 4)) as daily_capacity_hours,

        ---------- dates (BambooHR writes a date never filled in as 0000-00-00)
        cast(nullif(nullif(trim(hire_date), ''), '0000-00-00') as date) as hired_on,
        cast(nullif(nullif(trim(termination_date), ''), '0000-00-00') as date) as terminated_on,
        cast(last_changed as {{ dbt.type_timestamp() }}) as updated_at,

        ---------- flags
        status = 'Active' as is_active

    from shares

)

select * from renamed
