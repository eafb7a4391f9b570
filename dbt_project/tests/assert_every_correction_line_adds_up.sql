{#- An ERP line must add up: quantity x rate = amount, to the cent. Rows returned = lines that
    do not. (Unbilled time is hours x the entry's rate, rounded, as the vendor rounds a line.) -#}

select correction_id, quantity, rate_amount, correction_amount
from {{ ref('billing_corrections') }}
where round(quantity * rate_amount, 2) <> correction_amount
