{#-
    Kantata stories, one row per task or milestone of a workspace. `budget_estimate_in_cents`
    is set on the milestones of a milestone contract (what completing the milestone is invoiced
    at) and is in the workspace's currency, so the currency comes from the workspace.
    Kantata stamps no completion date: a completed story's last update is when it was
    completed, which holds while nothing edits a story after completing it (true of the
    milestones; a project's close completes its remaining tasks).
-#}

with

source as (

    {{ latest_by_key(source('kantata', 'stories'), 'id', 'updated_at desc, _dlt_load_id desc') }}

),

workspaces as (

    {{ latest_by_key(source('kantata', 'workspaces'), 'id', 'updated_at desc, _dlt_load_id desc') }}

),

renamed as (

    select

        ----------  ids
        cast(source.id as bigint) as story_id,
        cast(source.workspace_id as bigint) as workspace_id,

        ---------- text
        source.title as story_title,
        source.story_type,
        source.state as story_state,

        ---------- numerics
        cast(source.budget_estimate_in_cents * 0.01 as decimal(18, 2)) as budget_amount,
        case
            when source.budget_estimate_in_cents is not null then upper(trim(workspaces.currency))
        end as budget_currency,

        ---------- dates
        cast(nullif(trim(source.start_date), '') as date) as starts_on,
        cast(nullif(trim(source.due_date), '') as date) as due_on,
        case
            when source.state = 'completed' then cast(source.updated_at as date)
        end as completed_on,
        cast(source.created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(source.updated_at as {{ dbt.type_timestamp() }}) as updated_at,

        ---------- flags
        source.story_type = 'milestone' as is_milestone,
        source.state = 'completed' as is_completed

    from source
    left join workspaces on workspaces.id = source.workspace_id

)

select * from renamed
