{#-
    HubSpot deals, one row per deal. `closedate` is the expected close date until the deal is
    closed; `psa_project_code` is filled in when a deal is won and set up for delivery.
-#}

with

source as (

    {{ latest_by_key(source('hubspot', 'deals'), 'id', 'updated_at desc, _dlt_load_id desc') }}

),

renamed as (

    select

        ----------  ids
        cast(id as {{ dbt.type_string() }}) as deal_id,
        nullif(trim(properties__psa_project_code), '') as project_code,

        ---------- text
        properties__dealname as deal_name,
        properties__dealstage as deal_stage,
        properties__pipeline as pipeline,

        ---------- numerics
        cast(properties__amount as decimal(18, 2)) as deal_amount,
        upper(trim(properties__deal_currency_code)) as deal_currency,

        ---------- dates
        cast(properties__closedate as date) as closed_on,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at,

        ---------- flags
        properties__dealstage = 'closedwon' as is_won,
        properties__dealstage = 'closedlost' as is_lost,
        properties__dealstage in ('closedwon', 'closedlost') as is_closed,
        coalesce(archived, false) as is_archived

    from source

)

select * from renamed
