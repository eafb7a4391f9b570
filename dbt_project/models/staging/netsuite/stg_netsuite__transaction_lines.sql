{#-
    The item lines of ERP invoices and credit memos, one row per line. SuiteQL's transactionline
    holds every line of every transaction type, the main line and tax lines included; the source
    reads only the item lines (mainline and taxline 'F') of CustInvc and CustCred, each with its
    transaction's type (transactiontype). Amounts carry NetSuite's posting signs there: an
    invoice's income lines are credits (quantity and amount negative), a credit memo's are
    debits (positive). Here both are turned positive, as billed: a charge on an invoice and a
    credit on a credit memo. The line's currency is its transaction's, from the header.

    Replaced lines: when a record is re-written (a draft invoice upserted with new content), the
    ERP replaces its lines under new keys. dlt merges on the key and never sees the old lines
    go, so they linger in raw. A line older than its transaction's last line write is dropped
    when, and only when, that makes the lines add up to the header total again; any other
    mismatch is left in place for the tests to see.
-#}

with

source as (

    {{ latest_by_key(source('netsuite', 'invoice_lines'), 'uniquekey') }}

),

invoices as (

    {{ latest_by_key(source('netsuite', 'invoices'), 'id') }}

),

credit_memos as (

    {{ latest_by_key(source('netsuite', 'credit_memos'), 'id') }}

),

currencies as (

    select * from {{ ref('stg_netsuite__currencies') }}

),

headers as (

    select id, currency, foreigntotal from invoices
    union all
    select id, currency, foreigntotal from credit_memos

),

renamed as (

    select

        ---------- ids
        cast(source.uniquekey as bigint) as transaction_line_id,
        cast(source."transaction" as bigint) as transaction_id,
        cast(source.custcol_time_entry_id as bigint) as time_entry_id,
        cast(source.custcol_expense_id as bigint) as expense_id,
        cast(source.custcol_milestone_id as bigint) as milestone_id,
        nullif(trim(source.custcol_psa_correction_id), '') as correction_id,
        cast(source.linesequencenumber as integer) as line_number,

        ---------- text
        case source.transactiontype
            when 'CustInvc' then 'invoice'
            when 'CustCred' then 'credit_memo'
            when 'CustPymt' then 'payment'
        end as transaction_type,
        coalesce(source.itemname, source.item) as item,
        source.memo,

        ---------- numerics
        -- posting signs to billed signs: an invoice line's negative amount is a positive charge
        cast(
            case when source.transactiontype = 'CustInvc' then -1 else 1 end
            * cast(source.quantity as decimal(18, 4))
            as decimal(18, 4)
        ) as quantity,
        cast(source.rate as decimal(18, 2)) as rate_amount,
        cast(
            case when source.transactiontype = 'CustInvc' then -1 else 1 end
            * cast(source.foreignamount as decimal(18, 2))
            as decimal(18, 2)
        ) as line_amount,
        currencies.currency_code as line_currency,
        cast(abs(cast(headers.foreigntotal as decimal(18, 2))) as decimal(18, 2))
            as transaction_total_amount,

        ---------- dates
        cast(source.linelastmodifieddate as timestamp with time zone) at time zone 'UTC'
            as updated_at

    from source
    left join headers on headers.id = source."transaction"
    left join currencies on currencies.currency_id = cast(headers.currency as bigint)

),

written as (

    select
        *,
        max(updated_at) over (partition by transaction_id) as last_written_at,
        sum(line_amount) over (partition by transaction_id) as all_lines_amount
    from renamed

),

last_written as (

    select
        *,
        sum(case when updated_at = last_written_at then line_amount end)
            over (partition by transaction_id) as last_written_lines_amount
    from written

),

current_lines as (

    select * from last_written
    where
        updated_at = last_written_at
        or transaction_total_amount is null
        or all_lines_amount = transaction_total_amount
        or last_written_lines_amount <> transaction_total_amount

)

select
    transaction_line_id,
    transaction_id,
    time_entry_id,
    expense_id,
    milestone_id,
    correction_id,
    line_number,
    transaction_type,
    item,
    memo,
    cast(quantity as decimal(18, 4)) as quantity,
    rate_amount,
    cast(line_amount as decimal(18, 2)) as line_amount,
    line_currency,
    updated_at
from current_lines
