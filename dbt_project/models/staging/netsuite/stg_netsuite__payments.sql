{#-
    ERP customer payments (SuiteQL transaction of type CustPymt), one row per payment; the total
    is positive, the money received. What it paid is in stg_netsuite__transaction_links.
-#}

{%- set optional = optional_columns(source('netsuite', 'payments'), ['externalid', 'memo', 'custbody_project_code']) %}

with

source as (

    {{ latest_by_key(source('netsuite', 'payments'), 'id') }}

),

renamed as (

    select

        ---------- ids
        cast(id as bigint) as payment_id,
        tranid as payment_number,
        cast({{ optional['externalid'] }} as {{ dbt.type_string() }}) as external_id,
        cast(entity as bigint) as erp_customer_id,
        nullif(trim(cast({{ optional['custbody_project_code'] }} as {{ dbt.type_string() }})), '')
            as project_code,

        ---------- text
        status as payment_status,
        cast({{ optional['memo'] }} as {{ dbt.type_string() }}) as memo,

        ---------- numerics
        cast(foreigntotal as decimal(18, 2)) as total_amount,
        upper(currency) as total_currency,

        ---------- dates
        cast(trandate as date) as paid_on,
        cast(createddate as timestamp with time zone) at time zone 'UTC' as created_at,
        cast(lastmodifieddate as timestamp with time zone) at time zone 'UTC' as updated_at

    from source

)

select * from renamed
