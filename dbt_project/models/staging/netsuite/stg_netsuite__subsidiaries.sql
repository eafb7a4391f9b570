{#- The firm's legal entities (ERP subsidiaries), one row each, with the currency each keeps its books in. -#}

with

source as (

    {{ latest_by_key(source('netsuite', 'subsidiaries'), 'id') }}

),

renamed as (

    select

        ---------- ids
        cast(id as bigint) as erp_subsidiary_id,

        ---------- text
        name as subsidiary_name,
        upper(currency) as subsidiary_currency,
        upper(country) as country_code,

        ---------- dates
        cast(lastmodifieddate as timestamp with time zone) at time zone 'UTC' as updated_at

    from source

)

select * from renamed
