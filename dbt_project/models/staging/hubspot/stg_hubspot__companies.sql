{#-
    HubSpot companies, one row per company, parent groups included. `netsuite_customer_id` is
    the ERP customer's internal id typed into the CRM by hand: it may be missing, and text that
    is not a number is kept as `erp_customer_reference` rather than breaking the cast.
-#}

with

source as (

    {{ latest_by_key(source('hubspot', 'companies'), 'id', 'updated_at desc, _dlt_load_id desc') }}

),

renamed as (

    select

        ----------  ids
        cast(id as {{ dbt.type_string() }}) as company_id,
        nullif(trim(properties__hs_parent_company_id), '') as parent_company_id,
        case
            when trim(properties__netsuite_customer_id) similar to '[0-9]+'
                then cast(trim(properties__netsuite_customer_id) as bigint)
        end as erp_customer_id,
        nullif(trim(properties__netsuite_customer_id), '') as erp_customer_reference,

        ---------- text
        trim(properties__name) as company_name,
        lower(nullif(trim(properties__domain), '')) as company_domain,
        upper(nullif(trim(properties__country), '')) as country_code,

        ---------- dates
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at,

        ---------- flags
        coalesce(archived, false) as is_archived

    from source

)

select * from renamed
