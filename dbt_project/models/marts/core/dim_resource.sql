{#-
    One row per person the firm employs or employed (BambooHR employees, leavers included).
    The canonical resource id is the HR employee id; the Harvest and Kantata user ids are the
    users resolved to the employee (int_resources__matched; a duplicate user is counted and
    listed in identity_match_review, the strongest match named here). The cost rate is the
    latest pay change HR holds (its hourly cost in the employing entity's currency); rates in
    force on a given day are in stg_bamboohr__compensation. Capacity is the FTE share of the
    standard working day (stg_bamboohr__employees), five days a week.
-#}

with

employees as (

    select * from {{ ref('stg_bamboohr__employees') }}

),

compensation as (

    select * from {{ ref('stg_bamboohr__compensation') }}

),

matches as (

    select * from {{ ref('int_resources__matched') }}
    where employee_id is not null

),

counted as (

    select
        *,
        count(*) over (partition by employee_id, source_system) as record_count,
        max(case when needs_review then 1 else 0 end) over (partition by employee_id)
            as review_flag
    from matches

),

harvest as (

    select * from counted where source_system = 'harvest' and not is_duplicate

),

psa as (

    select * from counted where source_system = 'kantata' and not is_duplicate

),

reviews as (

    select distinct employee_id, review_flag from counted

),

current_rates as (

    select
        *,
        row_number() over (
            partition by employee_id order by effective_on desc, compensation_id desc
        ) as rate_rank
    from compensation

),

final as (

    select

        ---------- ids
        employees.employee_id as resource_id,
        employees.employee_id,
        cast(harvest.source_record_id as bigint) as harvest_user_id,
        cast(psa.source_record_id as bigint) as psa_user_id,
        employees.supervisor_employee_id as supervisor_resource_id,

        ---------- text
        employees.full_name,
        employees.email,
        employees.job_title as role,
        employees.role_key,
        employees.department as practice,
        employees.division as legal_entity,
        employees.location,
        employees.employment_status,
        coalesce(harvest.match_method, 'none') as harvest_match_method,
        coalesce(psa.match_method, 'none') as psa_match_method,

        ---------- numerics
        current_rates.cost_rate_amount,
        current_rates.cost_rate_currency,
        employees.fte,
        employees.daily_capacity_hours,
        cast(employees.daily_capacity_hours * 5 as decimal(18, 4)) as weekly_capacity_hours,
        harvest.match_confidence as harvest_match_confidence,
        psa.match_confidence as psa_match_confidence,
        coalesce(harvest.record_count, 0) as harvest_user_count,
        coalesce(psa.record_count, 0) as psa_user_count,

        ---------- dates
        employees.hired_on,
        employees.terminated_on,
        current_rates.effective_on as cost_rate_effective_on,

        ---------- flags
        employees.is_active,
        harvest.source_record_id is not null as has_harvest_user,
        psa.source_record_id is not null as has_psa_user,
        coalesce(reviews.review_flag, 0) = 1 as has_identity_issue

    from employees
    left join harvest on employees.employee_id = harvest.employee_id
    left join psa on employees.employee_id = psa.employee_id
    left join reviews on employees.employee_id = reviews.employee_id
    left join current_rates
        on employees.employee_id = current_rates.employee_id
        and current_rates.rate_rank = 1

)

select * from final
