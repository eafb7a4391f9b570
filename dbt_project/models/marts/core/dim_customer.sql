{#-
    One row per customer. The canonical customer id is the CRM company id: the CRM is where a
    client is first recorded (with its first deal), it is the one system every other system's
    customer record is resolved to (int_customers__matched), and its id is stable. Parent groups
    are customers too.

    Each system's id is that system's record resolved to the company; when a system holds more
    than one (a duplicate ERP customer), the strongest match is the one named here and the
    count says how many there are (the others are in identity_match_review). ERP customers and
    Harvest clients resolved to no company (unmatched, ambiguous) are not customers here: they
    are listed for review, never guessed.
-#}

with

crm_companies as (

    select * from {{ ref('stg_hubspot__companies') }}

),

erp_customers as (

    select * from {{ ref('stg_netsuite__customers') }}

),

matches as (

    select * from {{ ref('int_customers__matched') }}
    where crm_company_id is not null

),

counted as (

    select
        *,
        count(*) over (partition by crm_company_id, source_system) as record_count,
        max(case when needs_review then 1 else 0 end) over (partition by crm_company_id)
            as review_flag
    from matches

),

erp as (

    select * from counted where source_system = 'netsuite' and not is_duplicate

),

harvest as (

    select * from counted where source_system = 'harvest' and not is_duplicate

),

reviews as (

    select distinct crm_company_id, review_flag from counted

),

final as (

    select

        ---------- ids
        crm_companies.company_id as customer_id,
        crm_companies.company_id as crm_company_id,
        crm_companies.parent_company_id as parent_customer_id,
        erp_customers.erp_customer_id,
        cast(harvest.source_record_id as bigint) as harvest_client_id,
        erp_customers.erp_subsidiary_id,

        ---------- text
        crm_companies.company_name as customer_name,
        crm_companies.company_domain as customer_domain,
        crm_companies.country_code,
        erp_customers.customer_currency,
        coalesce(erp.match_method, 'none') as erp_match_method,
        coalesce(harvest.match_method, 'none') as harvest_match_method,

        ---------- numerics
        erp.match_confidence as erp_match_confidence,
        harvest.match_confidence as harvest_match_confidence,
        coalesce(erp.record_count, 0) as erp_customer_count,
        coalesce(harvest.record_count, 0) as harvest_client_count,

        ---------- dates
        crm_companies.created_at,

        ---------- flags
        erp_customers.erp_customer_id is not null as has_erp_customer,
        harvest.source_record_id is not null as has_harvest_client,
        coalesce(reviews.review_flag, 0) = 1 as has_identity_issue,
        crm_companies.is_archived

    from crm_companies
    left join erp on crm_companies.company_id = erp.crm_company_id
    left join erp_customers
        on erp.source_record_id = cast(erp_customers.erp_customer_id as {{ dbt.type_string() }})
    left join harvest on crm_companies.company_id = harvest.crm_company_id
    left join reviews on crm_companies.company_id = reviews.crm_company_id

)

select * from final
