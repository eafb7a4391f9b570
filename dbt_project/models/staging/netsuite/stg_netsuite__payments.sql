{#-
    ERP customer payments (SuiteQL transaction of type CustPymt), one row per payment; the total
    is the money received, positive (the absolute foreigntotal). What it paid is in
    stg_netsuite__transaction_links: one payment may pay several invoices. Status letters:
    A unapproved, B not deposited, C deposited.
-#}

with

source as (

    {{ latest_by_key(source('netsuite', 'payments'), 'id') }}

),

currencies as (

    select * from {{ ref('stg_netsuite__currencies') }}

),

renamed as (

    select

        ---------- ids
        cast(source.id as bigint) as payment_id,
        source.tranid as payment_number,
        source.externalid as external_id,
        cast(source.entity as bigint) as erp_customer_id,
        nullif(trim(source.custbody_project_code), '') as project_code,

        ---------- text
        case source.status
            when 'A' then 'unapproved'
            when 'B' then 'undeposited'
            when 'C' then 'deposited'
            else source.status
        end as payment_status,
        source.memo,

        ---------- numerics
        cast(abs(cast(source.foreigntotal as decimal(18, 2))) as decimal(18, 2)) as total_amount,
        currencies.currency_code as total_currency,

        ---------- dates
        cast(source.trandate as date) as paid_on,
        cast(source.createddate as timestamp with time zone) at time zone 'UTC' as created_at,
        cast(source.lastmodifieddate as timestamp with time zone) at time zone 'UTC' as updated_at

    from source
    left join currencies on currencies.currency_id = cast(source.currency as bigint)

)

select * from renamed
