{#-
    The billing corrections the ERP now holds, one row per correction id found on an ERP line:
    the reverse sync names the correction each line puts right (custom column
    custcol_psa_correction_id) on the draft invoices and credit memos it writes, so once a
    refresh has read them back, the leakage item is put right. Drafts count: the correction is
    in the ERP, waiting for finance to approve and send it.
-#}

with

invoice_lines as (

    select * from {{ ref('stg_netsuite__invoice_lines') }}

),

credit_memo_lines as (

    select * from {{ ref('stg_netsuite__credit_memo_lines') }}

),

corrected as (

    select correction_id, 'invoice' as record_type, invoice_id as erp_record_id
    from invoice_lines
    where correction_id is not null
    union all
    select correction_id, 'creditMemo' as record_type, credit_memo_id as erp_record_id
    from credit_memo_lines
    where correction_id is not null

),

final as (

    select
        correction_id,
        min(record_type) as record_type,
        min(erp_record_id) as erp_record_id,
        count(*) as erp_lines
    from corrected
    group by 1

)

select * from final
