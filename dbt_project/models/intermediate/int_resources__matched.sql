{#-
    Resource identity: each Harvest user and each Kantata user resolved to the BambooHR employee
    they are (the HR employee id is the canonical resource id). One row per Harvest user and
    Kantata user.

    Evidence, and its weight: the work e-mail (3, the key HR, the PSA and the time tool share
    for a person; compared trimmed and lower-cased) and the full name (2, compared lower-cased
    with every run of characters other than a-z and 0-9 read as one space). The employee with
    the greatest weight is chosen unless two tie (`ambiguous`, e.g. two "Ben Patel"s and no
    e-mail); a choice is a `conflict` when an e-mail points at another employee, or when only
    other employees share the name. Two users of one system chosen for one employee are both
    kept, the later flagged `is_duplicate`. The confidence scale is int_customers__matched's:
    1.00 e-mail and name, 0.90 e-mail alone, 0.60 name alone, 0.50 conflict, 0.00 no employee.
-#}

with

employees as (

    select * from {{ ref('stg_bamboohr__employees') }}

),

harvest_users as (

    select * from {{ ref('stg_harvest__users') }}

),

psa_users as (

    select * from {{ ref('stg_kantata__users') }}

),

people as (

    select
        'bamboohr' as source_system,
        cast(employee_id as {{ dbt.type_string() }}) as source_record_id,
        full_name,
        email,
        cast(null as {{ dbt.type_timestamp() }}) as created_at
    from employees

    union all

    select
        'harvest' as source_system,
        cast(harvest_user_id as {{ dbt.type_string() }}) as source_record_id,
        user_name as full_name,
        email,
        created_at
    from harvest_users

    union all

    select
        'kantata' as source_system,
        cast(psa_user_id as {{ dbt.type_string() }}) as source_record_id,
        full_name,
        email,
        created_at
    from psa_users

),

normalized as (

    select
        {{ dbt.concat(['source_system', "':'", 'source_record_id']) }} as resource_record_key,
        source_system,
        source_record_id,
        full_name as source_name,
        nullif(lower(trim(email)), '') as normalized_email,
        nullif(
            trim(regexp_replace(lower(coalesce(full_name, '')), '[^a-z0-9]+', ' ', 'g')), ''
        ) as normalized_name,
        created_at
    from people

),

hr as (

    select * from normalized where source_system = 'bamboohr'

),

resolvable as (

    select * from normalized where source_system <> 'bamboohr'

),

evidence as (

    select r.resource_record_key, hr.source_record_id as employee_id, 'email' as evidence
    from resolvable as r
    inner join hr on r.normalized_email = hr.normalized_email

    union all

    select r.resource_record_key, hr.source_record_id as employee_id, 'name' as evidence
    from resolvable as r
    inner join hr on r.normalized_name = hr.normalized_name

),

candidates as (

    select
        resource_record_key,
        employee_id,
        max(case when evidence = 'email' then 1 else 0 end) as by_email,
        max(case when evidence = 'name' then 1 else 0 end) as by_name
    from evidence
    group by 1, 2

),

ranked as (

    select
        *,
        3 * by_email + 2 * by_name as match_score,
        rank() over (
            partition by resource_record_key order by 3 * by_email + 2 * by_name desc
        ) as score_rank,
        count(*) over (partition by resource_record_key) as candidate_count
    from candidates

),

chosen as (

    {{ sole_leader('ranked', 'resource_record_key') }}

),

elsewhere as (

    select
        ranked.resource_record_key,
        max(ranked.by_email) as has_email_elsewhere,
        max(ranked.by_name) as has_name_elsewhere,
        {{ dbt.listagg('ranked.employee_id', "', '", 'order by ranked.employee_id') }}
            as other_employee_ids
    from ranked
    left join chosen
        on ranked.resource_record_key = chosen.resource_record_key
        and ranked.employee_id = chosen.employee_id
    where chosen.resource_record_key is null
    group by 1

),

resolved as (

    select
        resolvable.*,
        chosen.employee_id,
        coalesce(chosen.match_score, 0) as match_score,
        coalesce(counts.candidate_count, 0) as candidate_count,
        coalesce(chosen.by_email, 0) = 1 as has_email_evidence,
        coalesce(chosen.by_name, 0) = 1 as has_name_evidence,
        coalesce(elsewhere.has_email_elsewhere, 0) = 1 as has_email_elsewhere,
        coalesce(elsewhere.has_name_elsewhere, 0) = 1 as has_name_elsewhere,
        elsewhere.other_employee_ids
    from resolvable
    left join chosen on resolvable.resource_record_key = chosen.resource_record_key
    left join (
        select distinct resource_record_key, candidate_count from ranked
    ) as counts on resolvable.resource_record_key = counts.resource_record_key
    left join elsewhere on resolvable.resource_record_key = elsewhere.resource_record_key

),

statused as (

    select
        *,
        case
            when candidate_count = 0 then 'unmatched'
            when employee_id is null then 'ambiguous'
            when has_email_elsewhere or (not has_name_evidence and has_name_elsewhere)
                then 'conflict'
            else 'matched'
        end as match_status,
        row_number() over (
            partition by source_system, employee_id
            order by match_score desc, created_at, source_record_id
        ) as record_rank,
        first_value(source_record_id) over (
            partition by source_system, employee_id
            order by match_score desc, created_at, source_record_id
            rows between unbounded preceding and unbounded following
        ) as first_record_id
    from resolved

),

final as (

    select

        ---------- ids
        resource_record_key,
        source_system,
        source_record_id,
        cast(employee_id as bigint) as employee_id,
        other_employee_ids,
        case
            when employee_id is not null and record_rank > 1 then first_record_id
        end as duplicate_of_record_id,

        ---------- text
        source_name,
        normalized_email,
        normalized_name,
        match_status,
        case
            when employee_id is null then 'none'
            when has_email_evidence then 'email'
            else 'name'
        end as match_method,

        ---------- numerics
        cast(case
            when match_status in ('unmatched', 'ambiguous') then 0
            when match_status = 'conflict' then 0.5
            when has_email_evidence and has_name_evidence then 1
            when has_email_evidence then 0.9
            else 0.6
        end as decimal(3, 2)) as match_confidence,
        match_score,
        candidate_count,

        ---------- dates
        created_at,

        ---------- flags
        has_email_evidence,
        has_name_evidence,
        employee_id is not null and record_rank > 1 as is_duplicate,
        match_status <> 'matched' or (employee_id is not null and record_rank > 1)
            as needs_review

    from statused

)

select * from final
