{#-
    What each payment or credit memo applied to which invoice (SuiteQL previoustransactionlink),
    one row per applying document and invoice: a payment that paid several invoices has a row
    for each. NetSuite applies credit memos with link type 'Payment' too, so what the applying
    document is comes from its type (nexttype: CustPymt or CustCred), read with the link. The
    amount is positive, in the invoice's currency (the link carries none of its own); the date
    is the applying document's. The link has no timestamp of its own: updated_at is the
    applying document's last change.
-#}

with

source as (

    {{ latest_by_key(source('netsuite', 'transaction_links'), 'nextdoc, previousdoc') }}

),

invoices as (

    {{ latest_by_key(source('netsuite', 'invoices'), 'id') }}

),

currencies as (

    select * from {{ ref('stg_netsuite__currencies') }}

),

renamed as (

    select

        ---------- ids
        {{ dbt.concat(['source.nextdoc', "'-'", 'source.previousdoc']) }} as transaction_link_id,
        cast(source.nextdoc as bigint) as applying_transaction_id,
        cast(source.previousdoc as bigint) as invoice_id,
        case when source.nexttype = 'CustPymt' then cast(source.nextdoc as bigint) end as payment_id,
        case when source.nexttype = 'CustCred' then cast(source.nextdoc as bigint) end
            as credit_memo_id,

        ---------- text
        case source.nexttype
            when 'CustPymt' then 'Payment'
            when 'CustCred' then 'Credit Memo'
            else source.linktype
        end as link_type,

        ---------- numerics
        cast(abs(cast(source.foreignamount as decimal(18, 2))) as decimal(18, 2)) as applied_amount,
        currencies.currency_code as applied_currency,

        ---------- dates
        cast(source.nexttrandate as date) as applied_on,
        cast(source.lastmodifieddate as timestamp with time zone) at time zone 'UTC' as updated_at,

        ---------- flags
        source.nexttype = 'CustPymt' as is_payment,
        source.nexttype = 'CustCred' as is_credit_memo

    from source
    left join invoices on invoices.id = source.previousdoc
    left join currencies on currencies.currency_id = cast(invoices.currency as bigint)

)

select * from renamed
