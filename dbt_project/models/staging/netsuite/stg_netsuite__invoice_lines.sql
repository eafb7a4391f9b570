{#-
    SuiteQL's transactionline holds the lines of every transaction type (credit memos too);
    the invoice lines are those of an invoice.
-#}

with

source as (

    select * from {{ source('netsuite', 'invoice_lines') }}
    where "transaction" in (select id from {{ source('netsuite', 'invoices') }})

),

renamed as (

    select

        ----------  ids
        cast(uniquekey as bigint) as invoice_line_id,
        cast("transaction" as bigint) as invoice_id,
        cast(custcol_time_entry_id as bigint) as time_entry_id,
        cast(linesequencenumber as integer) as line_number,

        ---------- text
        item,
        memo,

        ---------- numerics
        cast(quantity as decimal(18, 4)) as quantity,
        cast(rate as decimal(18, 2)) as rate_amount,
        cast(foreignamount as decimal(18, 2)) as line_amount,

        ---------- dates
        cast(linelastmodifieddate as {{ dbt.type_timestamp() }}) as updated_at

    from source

)

select * from renamed
