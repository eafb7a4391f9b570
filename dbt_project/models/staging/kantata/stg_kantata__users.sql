{#-
    Kantata users, one row per user on the account; disabled once they leave. The e-mail is the
    key HR, the PSA and the time tool share for a person, so it is trimmed and lower-cased here.
    Kantata stamps no created_at / updated_at on users: those columns stay null.
-#}

with

source as (

    {{ latest_by_key(source('kantata', 'users'), 'id') }}

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
        cast(null as {{ dbt.type_timestamp() }}) as created_at,
        cast(null as {{ dbt.type_timestamp() }}) as updated_at,

        ---------- flags
        coalesce(disabled, false) as is_disabled

    from source

)

select * from renamed
