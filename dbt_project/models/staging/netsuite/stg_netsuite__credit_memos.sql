{#-
    ERP credit memos (SuiteQL transaction of type CustCred), one row per credit memo. The total
    is the credit given, positive (the absolute foreigntotal, whichever sign the tenant's
    SuiteQL shows); createdfrom (read from the credit memo's main line) names the invoice it
    credits, and the previoustransactionlink rows (stg_netsuite__transaction_links) say how much
    was applied to which invoice. Status letters: A open, B fully applied.
-#}

with

source as (

    {{ latest_by_key(source('netsuite', 'credit_memos'), 'id') }}

),

currencies as (

    select * from {{ ref('stg_netsuite__currencies') }}

),

renamed as (

    select

        ---------- ids
        cast(source.id as bigint) as credit_memo_id,
        source.tranid as credit_memo_number,
        source.externalid as external_id,
        cast(source.entity as bigint) as erp_customer_id,
        cast(source.createdfrom as bigint) as invoice_id,
        nullif(trim(source.custbody_project_code), '') as project_code,

        ---------- text
        case source.status
            when 'A' then 'open'
            when 'B' then 'applied'
            else source.status
        end as credit_memo_status,
        source.memo,

        ---------- numerics
        cast(abs(cast(source.foreigntotal as decimal(18, 2))) as decimal(18, 2)) as total_amount,
        currencies.currency_code as total_currency,

        ---------- dates
        cast(source.trandate as date) as credited_on,
        cast(source.createddate as timestamp with time zone) at time zone 'UTC' as created_at,
        cast(source.lastmodifieddate as timestamp with time zone) at time zone 'UTC' as updated_at,

        ---------- flags
        false as is_draft  -- NetSuite credit memos have no approval status

    from source
    left join currencies on currencies.currency_id = cast(source.currency as bigint)

)

select * from renamed
