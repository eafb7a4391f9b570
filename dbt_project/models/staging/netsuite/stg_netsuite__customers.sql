{#-
    ERP customers, one row per customer. The external id is the CRM company id when someone typed
    it in (sometimes missing, sometimes wrong); a client can have a second customer record under
    a name variant. website_domain is the web address reduced to its host without "www.", the
    form the CRM keeps company domains in, for matching. The currency is an internal id in
    SuiteQL; here its ISO code.
-#}

with

source as (

    {{ latest_by_key(source('netsuite', 'customers'), 'id') }}

),

currencies as (

    select * from {{ ref('stg_netsuite__currencies') }}

),

renamed as (

    select

        ---------- ids
        cast(source.id as bigint) as erp_customer_id,
        source.entityid as customer_number,
        nullif(trim(source.externalid), '') as crm_company_id,
        cast(source.parent as bigint) as parent_erp_customer_id,
        cast(source.subsidiary as bigint) as erp_subsidiary_id,

        ---------- text
        source.companyname as customer_name,
        source.url as website_url,
        currencies.currency_code as customer_currency,

        ---------- dates
        cast(source.datecreated as timestamp with time zone) at time zone 'UTC' as created_at,
        cast(source.lastmodifieddate as timestamp with time zone) at time zone 'UTC'
            as updated_at

    from source
    left join currencies on currencies.currency_id = cast(source.currency as bigint)

),

hosts as (

    select
        *,
        split_part(
            replace(replace(lower(trim(website_url)), 'https://', ''), 'http://', ''), '/', 1
        ) as website_host
    from renamed

),

final as (

    select
        erp_customer_id,
        customer_number,
        crm_company_id,
        parent_erp_customer_id,
        erp_subsidiary_id,
        customer_name,
        website_url,
        nullif(
            case when website_host like 'www.%' then substr(website_host, 5) else website_host end,
            ''
        ) as website_domain,
        customer_currency,
        created_at,
        updated_at
    from hosts

)

select * from final
