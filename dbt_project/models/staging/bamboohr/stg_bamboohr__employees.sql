{#-
    BambooHR employees, one row per employee, leavers included. The firm keeps the consultant's
    role in jobTitle, the practice in department and the employing legal entity in division.
    Capacity is the FTE share of a standard working day (`standard_day_hours`, 8 by default);
    an employee works from hired_on up to, not including, terminated_on.
-#}

{%- set standard_day_hours = var('standard_day_hours', 8) %}

with

source as (

    {{ latest_by_key(source('bamboohr', 'employees'), 'id', 'last_changed desc, _dlt_load_id desc') }}

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
        cast(fte as decimal(18, 4)) as fte,
        cast(cast(fte as decimal(18, 4)) * {{ standard_day_hours }} as decimal(18, 4)) as daily_capacity_hours,

        ---------- dates
        cast(nullif(trim(hire_date), '') as date) as hired_on,
        cast(nullif(trim(termination_date), '') as date) as terminated_on,
        cast(last_changed as {{ dbt.type_timestamp() }}) as updated_at,

        ---------- flags
        status = 'Active' as is_active

    from source

)

select * from renamed
