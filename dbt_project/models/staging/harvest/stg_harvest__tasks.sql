{#- Harvest tasks, one row per task (the kind of work a time entry records). -#}

with

source as (

    {{ latest_by_key(source('harvest', 'tasks'), 'id') }}

),

renamed as (

    select

        ---------- ids
        id as harvest_task_id,

        ---------- text
        name as task_name,

        ---------- dates
        cast(created_at as timestamp with time zone) at time zone 'UTC' as created_at,
        cast(updated_at as timestamp with time zone) at time zone 'UTC' as updated_at,

        ---------- flags
        billable_by_default as is_billable_by_default,
        is_active

    from source

)

select * from renamed
