{#-
    ERP credit memos (SuiteQL transaction of type CustCred), one row per credit memo. The total
    is positive, the credit given; createdfrom names the invoice it credits (the firm's own
    credit memos), and the previoustransactionlink rows (stg_netsuite__transaction_links) say
    how much was applied to which invoice. Fields SuiteQL left out everywhere read as null.
-#}

{%- set optional = optional_columns(source('netsuite', 'credit_memos'), ['externalid', 'createdfrom', 'memo', 'custbody_project_code']) %}

with

source as (

    {{ latest_by_key(source('netsuite', 'credit_memos'), 'id') }}

),

renamed as (

    select

        ---------- ids
        cast(id as bigint) as credit_memo_id,
        tranid as credit_memo_number,
        cast({{ optional['externalid'] }} as {{ dbt.type_string() }}) as external_id,
        cast(entity as bigint) as erp_customer_id,
        cast({{ optional['createdfrom'] }} as bigint) as invoice_id,
        nullif(trim(cast({{ optional['custbody_project_code'] }} as {{ dbt.type_string() }})), '')
            as project_code,

        ---------- text
        status as credit_memo_status,
        cast({{ optional['memo'] }} as {{ dbt.type_string() }}) as memo,

        ---------- numerics
        cast(foreigntotal as decimal(18, 2)) as total_amount,
        upper(currency) as total_currency,

        ---------- dates
        cast(trandate as date) as credited_on,
        cast(createddate as timestamp with time zone) at time zone 'UTC' as created_at,
        cast(lastmodifieddate as timestamp with time zone) at time zone 'UTC' as updated_at,

        ---------- flags
        status = 'pendingApproval' as is_draft

    from source

)

select * from renamed
