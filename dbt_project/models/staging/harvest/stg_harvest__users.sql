{#-
    Harvest users, one row per user. The e-mail is the one key HR, the PSA and Harvest share
    for a person. cost_rate is the current hourly cost only (history lives in HR and on each
    time entry), in the employing entity's currency, which Harvest does not record.
-#}

with

source as (

    {{ latest_by_key(source('harvest', 'users'), 'id') }}

),

renamed as (

    select

        ---------- ids
        id as harvest_user_id,
        lower(trim(email)) as email,

        ---------- text
        first_name,
        last_name,
        {{ dbt.concat(['first_name', "' '", 'last_name']) }} as user_name,
        timezone,

        ---------- numerics
        cast(cost_rate as decimal(18, 2)) as cost_rate_amount,

        ---------- dates
        cast(created_at as timestamp with time zone) at time zone 'UTC' as created_at,
        cast(updated_at as timestamp with time zone) at time zone 'UTC' as updated_at,

        ---------- flags
        is_active,
        is_contractor

    from source

)

select * from renamed
