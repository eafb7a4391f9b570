{#- Every leakage item a billing record can put right has exactly one correction, and no
    correction exists without its leakage item. Rows returned = the mismatches. -#}

with

correctable as (

    select leakage_id
    from {{ ref('revenue_leakage') }}
    where cause in (
        'unbilled_time',
        'expense_not_invoiced',
        'milestone_not_invoiced',
        'superseded_rate',
        'time_billed_twice'
    )

),

corrections as (

    select correction_id from {{ ref('billing_corrections') }}

)

select correctable.leakage_id, corrections.correction_id
from correctable
full outer join corrections on corrections.correction_id = correctable.leakage_id
where correctable.leakage_id is null or corrections.correction_id is null
