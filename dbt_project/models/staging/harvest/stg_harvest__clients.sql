{#- Harvest clients, one row per client; the name is as typed into Harvest (it drifts from the CRM's). -#}

with

source as (

    {{ latest_by_key(source('harvest', 'clients'), 'id') }}

),

renamed as (

    select

        ---------- ids
        id as harvest_client_id,

        ---------- text
        name as client_name,
        upper(currency) as billing_currency,

        ---------- dates
        cast(created_at as timestamp with time zone) at time zone 'UTC' as created_at,
        cast(updated_at as timestamp with time zone) at time zone 'UTC' as updated_at,

        ---------- flags
        is_active

    from source

)

select * from renamed
