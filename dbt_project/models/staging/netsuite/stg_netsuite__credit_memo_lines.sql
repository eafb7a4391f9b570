{#-
    The lines of ERP credit memos (same raw table as invoice lines). Amounts are positive: the
    credit given. The firm's own credit memos carry one "Service credit" line; credit memos the
    reverse sync writes name what they reverse (time entry, expense or milestone) and the PSA
    correction each line puts right (correction_id).
-#}

with

transaction_lines as (

    select * from {{ ref('stg_netsuite__transaction_lines') }}
    where transaction_type = 'credit_memo'

),

renamed as (

    select

        ---------- ids
        transaction_line_id as credit_memo_line_id,
        transaction_id as credit_memo_id,
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
