{#-
    The firm's legal entities (ERP subsidiaries), one row each, with the currency each keeps its
    books in (an internal id in SuiteQL; here its ISO code). SuiteQL exposes no last-modified
    date on subsidiaries: the source reads them whole and updated_at stays empty.
-#}

with

source as (

    {{ latest_by_key(source('netsuite', 'subsidiaries'), 'id') }}

),

currencies as (

    select * from {{ ref('stg_netsuite__currencies') }}

),

renamed as (

    select

        ---------- ids
        cast(source.id as bigint) as erp_subsidiary_id,

        ---------- text
        source.name as subsidiary_name,
        currencies.currency_code as subsidiary_currency,
        upper(source.country) as country_code,

        ---------- dates
        cast(null as timestamp) as updated_at

    from source
    left join currencies on currencies.currency_id = cast(source.currency as bigint)

)

select * from renamed
