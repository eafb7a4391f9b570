{#-
    What the ERP billed, one row per invoice line (credit memo lines are not billing; what they
    take off an invoice is in fct_payment): the invoice, its project and customer, the source
    record the line bills (a time entry, an expense, a milestone; none for a fee) and its
    amount, in the invoice's currency and in the reporting currency at the invoice date's rate.
    Drafts the reverse sync wrote are lines too (is_draft).
-#}

with

invoice_lines as (

    select * from {{ ref('int_invoice_lines__linked') }}

),

customers as (

    select * from {{ ref('int_customers__matched') }}
    where source_system = 'netsuite'

),

fx_rates as (

    select * from {{ ref('int_fx_rates__daily') }}

),

final as (

    select

        ---------- ids
        invoice_lines.invoice_line_id,
        invoice_lines.invoice_id,
        invoice_lines.invoice_number,
        invoice_lines.project_code,
        customers.crm_company_id as customer_id,
        invoice_lines.erp_customer_id,
        invoice_lines.time_entry_id,
        invoice_lines.expense_id,
        invoice_lines.milestone_id,
        invoice_lines.invoice_external_id,
        invoice_lines.line_number,

        ---------- text
        invoice_lines.item,
        invoice_lines.memo,
        invoice_lines.billed_record_type,
        invoice_lines.invoice_status,

        ---------- numerics
        invoice_lines.quantity,
        invoice_lines.rate_amount,
        invoice_lines.line_amount,
        invoice_lines.line_currency,
        cast(round(invoice_lines.line_amount * fx_rates.fx_rate, 2) as decimal(18, 2))
            as line_reporting_amount,
        '{{ var("reporting_currency") | upper }}' as reporting_currency,

        ---------- dates
        invoice_lines.invoiced_on,
        invoice_lines.billing_month,

        ---------- flags
        invoice_lines.is_draft,
        invoice_lines.invoice_external_id is null as is_billing_run

    from invoice_lines
    left join customers
        on customers.source_record_id
        = cast(invoice_lines.erp_customer_id as {{ dbt.type_string() }})
    left join fx_rates
        on fx_rates.currency = invoice_lines.line_currency
        and fx_rates.rate_on = invoice_lines.invoiced_on

)

select * from final
