with

source as (

    select * from {{ source('harvest', 'time_entries') }}

),

renamed as (

    select

        ----------  ids
        id as time_entry_id,
        user__id as harvest_user_id,
        project__id as harvest_project_id,
        client__id as harvest_client_id,
        task__id as harvest_task_id,
        nullif(trim(project__code), '') as project_code,

        ---------- text
        user__name as user_name,
        project__name as project_name,
        client__name as client_name,
        notes,

        ---------- numerics
        cast(hours as decimal(18, 4)) as hours,
        cast(billable_rate as decimal(18, 2)) as bill_rate_amount,
        upper(client__currency) as bill_rate_currency,

        ---------- dates
        cast(spent_date as date) as spent_on,
        created_at,
        updated_at,

        ---------- flags
        billable as is_billable,
        is_closed as is_approved,
        is_locked

    from source

)

select * from renamed
