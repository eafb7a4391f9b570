{#-
    Kantata assignments, one row per user assigned to a task story: who staffs a project.
-#}

with

source as (

    {{ latest_by_key(source('kantata', 'assignments'), 'id', 'updated_at desc, _dlt_load_id desc') }}

),

renamed as (

    select

        ----------  ids
        cast(id as bigint) as assignment_id,
        cast(story_id as bigint) as story_id,
        cast(workspace_id as bigint) as workspace_id,
        cast(assignee_id as bigint) as psa_user_id,

        ---------- dates
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at

    from source

)

select * from renamed
