{#-
    What each payment or credit memo applied to which invoice (SuiteQL previoustransactionlink),
    one row per applying document and invoice. The amount is positive, in the invoice's
    currency (the link carries none of its own; it is the invoice's). The sandbox applies each
    document to one invoice; a real tenant can apply one payment to several, which is why the
    key here is the pair (the source still merges on nextdoc alone, which keeps one of them).
-#}

with

source as (

    {{ latest_by_key(source('netsuite', 'transaction_links'), 'nextdoc, previousdoc') }}

),

invoices as (

    {{ latest_by_key(source('netsuite', 'invoices'), 'id') }}

),

renamed as (

    select

        ---------- ids
        {{ dbt.concat(['source.nextdoc', "'-'", 'source.previousdoc']) }} as transaction_link_id,
        cast(source.nextdoc as bigint) as applying_transaction_id,
        cast(source.previousdoc as bigint) as invoice_id,
        case when source.linktype = 'Payment' then cast(source.nextdoc as bigint) end as payment_id,
        case when source.linktype = 'Credit Memo' then cast(source.nextdoc as bigint) end
            as credit_memo_id,

        ---------- text
        source.linktype as link_type,

        ---------- numerics
        cast(source.foreignamount as decimal(18, 2)) as applied_amount,
        upper(invoices.currency) as applied_currency,

        ---------- dates
        cast(source.linkdate as date) as applied_on,
        cast(source.lastmodifieddate as timestamp with time zone) at time zone 'UTC' as updated_at,

        ---------- flags
        source.linktype = 'Payment' as is_payment,
        source.linktype = 'Credit Memo' as is_credit_memo

    from source
    left join invoices on invoices.id = source.previousdoc

)

select * from renamed
