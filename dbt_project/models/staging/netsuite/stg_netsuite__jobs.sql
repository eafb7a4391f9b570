{#-
    ERP jobs (projects), one row per job. The entity id is the project code shared with the CRM
    and Harvest; the parent is the customer billed; the external id is the CRM deal when someone
    typed it in.
-#}

{%- set optional = optional_columns(source('netsuite', 'jobs'), ['externalid']) %}

with

source as (

    {{ latest_by_key(source('netsuite', 'jobs'), 'id') }}

),

renamed as (

    select

        ---------- ids
        cast(id as bigint) as erp_job_id,
        nullif(trim(entityid), '') as project_code,
        nullif(trim(cast({{ optional['externalid'] }} as {{ dbt.type_string() }})), '')
            as crm_deal_id,
        cast(parent as bigint) as erp_customer_id,
        cast(subsidiary as bigint) as erp_subsidiary_id,

        ---------- text
        companyname as job_name,
        entitystatus as job_status,
        upper(currency) as job_currency,

        ---------- dates
        cast(startdate as date) as starts_on,
        cast(projectedenddate as date) as projected_end_on,
        cast(datecreated as timestamp with time zone) at time zone 'UTC' as created_at,
        cast(lastmodifieddate as timestamp with time zone) at time zone 'UTC' as updated_at,

        ---------- flags
        entitystatus = 'Closed' as is_closed

    from source

)

select * from renamed
