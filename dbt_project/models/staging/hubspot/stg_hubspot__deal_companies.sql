{#-
    Which companies each deal is with, one row per deal and company (HubSpot allows several;
    a pair listed under more than one association label is kept once).
-#}

with

source as (

    {{ latest_by_key(source('hubspot', 'deal_companies'), 'deal_id, company_id', '_dlt_load_id desc, type') }}

),

renamed as (

    select

        ----------  ids
        cast(deal_id as {{ dbt.type_string() }}) as deal_id,
        cast(company_id as {{ dbt.type_string() }}) as company_id,

        ---------- text
        type as association_type

    from source

)

select * from renamed
