{#-
    ERP jobs (projects), one row per job. The entity id is the project code shared with the CRM
    and Harvest; the parent is the customer billed; the external id is the CRM deal when someone
    typed it in. SuiteQL gives the status and the currency as internal ids: the status's name
    comes with it (BUILTIN.DF, entitystatusname), the currency's ISO code from the currencies.
-#}

with

source as (

    {{ latest_by_key(source('netsuite', 'jobs'), 'id') }}

),

currencies as (

    select * from {{ ref('stg_netsuite__currencies') }}

),

renamed as (

    select

        ---------- ids
        cast(source.id as bigint) as erp_job_id,
        nullif(trim(source.entityid), '') as project_code,
        nullif(trim(source.externalid), '') as crm_deal_id,
        cast(source.parent as bigint) as erp_customer_id,
        cast(source.subsidiary as bigint) as erp_subsidiary_id,

        ---------- text
        source.companyname as job_name,
        source.entitystatusname as job_status,
        currencies.currency_code as job_currency,

        ---------- dates
        cast(source.startdate as date) as starts_on,
        cast(source.projectedenddate as date) as projected_end_on,
        cast(source.datecreated as timestamp with time zone) at time zone 'UTC' as created_at,
        cast(source.lastmodifieddate as timestamp with time zone) at time zone 'UTC'
            as updated_at,

        ---------- flags
        source.entitystatusname = 'Closed' as is_closed

    from source
    left join currencies on currencies.currency_id = cast(source.currency as bigint)

)

select * from renamed
