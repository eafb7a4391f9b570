{#-
    Kantata workspaces (projects), one row per workspace, archived ones too. Kantata has no
    project code field: the firm titles each workspace "<project code> <project name>", so the
    code is the title's first word when it looks like one (`psa_project_code_pattern`, a LIKE
    pattern). The status is an object; its message is the status's name (Active, Completed).
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
        cast(rate_card_id as bigint) as rate_card_id,

        ---------- text
        title as workspace_title,
        case
            when {{ first_word }} like '{{ code_pattern }}'
                then nullif(trim(substr(trim(title), length({{ first_word }}) + 1)), '')
            else title
        end as project_name,
        status__message as workspace_status,
        upper(trim(currency)) as workspace_currency,

        ---------- dates
        cast(nullif(trim(start_date), '') as date) as starts_on,
        cast(nullif(trim(due_date), '') as date) as due_on,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at,

        ---------- flags
        status__message = 'Active' as is_active,
        status__message = 'Completed' as is_completed,
        coalesce(archived, false) as is_archived

    from source

)

select * from renamed
