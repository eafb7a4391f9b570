{#- The lines of ERP invoices (drafts included); credit memo lines are stg_netsuite__credit_memo_lines. -#}

with

transaction_lines as (

    select * from {{ ref('stg_netsuite__transaction_lines') }}
    where transaction_type = 'invoice'

),

renamed as (

    select

        ---------- ids
        transaction_line_id as invoice_line_id,
        transaction_id as invoice_id,
        time_entry_id,
        expense_id,
        milestone_id,
        correction_id,
        line_number,

        ---------- text
        item,
        memo,

        ---------- numerics
        quantity,
        rate_amount,
        line_amount,
        line_currency,

        ---------- dates
        updated_at

    from transaction_lines

)

select * from renamed
