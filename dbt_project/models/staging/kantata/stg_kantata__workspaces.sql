{#-
    Kantata workspaces (projects), one row per workspace. Kantata has no project code field:
    the firm titles each workspace "<project code> <project name>", so the code is the title's
    first word when it looks like one (`psa_project_code_pattern`, a LIKE pattern).
-#}

{%- set code_pattern = var('psa_project_code_pattern', 'PRJ-%') %}
{%- set first_word = dbt.split_part('trim(title)', "' '", 1) | trim %}

with

source as (

    {{ latest_by_key(source('kantata', 'workspaces'), 'id', 'updated_at desc, _dlt_load_id desc') }}

),

renamed as (

    select

        ----------  ids
        cast(id as bigint) as workspace_id,
        case
            when {{ first_word }} like '{{ code_pattern }}' then {{ first_word }}
        end as project_code,

        ---------- text
        title as workspace_title,
        case
            when {{ first_word }} like '{{ code_pattern }}'
                then nullif(trim(substr(trim(title), length({{ first_word }}) + 1)), '')
            else title
        end as project_name,
        status as workspace_status,
        upper(trim(currency)) as workspace_currency,

        ---------- dates
        cast(nullif(trim(start_date), '') as date) as starts_on,
        cast(nullif(trim(due_date), '') as date) as due_on,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at,

        ---------- flags
        status = 'Active' as is_active,
        status = 'Completed' as is_completed

    from source

)

select * from renamed
