{#-
    Kantata users, one row per user; disabled once they leave. The e-mail is the key HR, the
    PSA and the time tool share for a person, so it is trimmed and lower-cased here.
-#}

with

source as (

    {{ latest_by_key(source('kantata', 'users'), 'id', 'updated_at desc, _dlt_load_id desc') }}

),

renamed as (

    select

        ----------  ids
        cast(id as bigint) as psa_user_id,

        ---------- text
        trim(full_name) as full_name,
        lower(nullif(trim(email_address), '')) as email,
        trim(headline) as headline,
        lower(replace(trim(headline), ' ', '_')) as role_key,

        ---------- dates
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at,

        ---------- flags
        coalesce(disabled, false) as is_disabled

    from source

)

select * from renamed
