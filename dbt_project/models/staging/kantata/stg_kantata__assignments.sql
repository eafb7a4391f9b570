{#-
    Kantata assignments, one row per user assigned to a story: who staffs a project. Kantata's
    assignment names its story, not its workspace: the workspace is the story's.
-#}

with

source as (

    {{ latest_by_key(source('kantata', 'assignments'), 'id', 'updated_at desc, _dlt_load_id desc') }}

),

stories as (

    {{ latest_by_key(source('kantata', 'stories'), 'id', 'updated_at desc, _dlt_load_id desc') }}

),

renamed as (

    select

        ----------  ids
        cast(source.id as bigint) as assignment_id,
        cast(source.story_id as bigint) as story_id,
        cast(stories.workspace_id as bigint) as workspace_id,
        cast(source.assignee_id as bigint) as psa_user_id,

        ---------- dates
        cast(source.created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(source.updated_at as {{ dbt.type_timestamp() }}) as updated_at,

        ---------- flags
        coalesce(source.current, true) as is_current

    from source
    left join stories on stories.id = source.story_id

)

select * from renamed
