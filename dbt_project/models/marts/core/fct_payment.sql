{#-
    What settled the invoices, one row per ERP payment or credit memo (settlement_type): the
    invoice it was applied to (stg_netsuite__transaction_links; the sandbox applies each to
    one invoice, a real tenant may split one across several, and then the first is named and
    applied_amount is the sum), its project and customer, and its amount in its currency and in
    the reporting currency at the rate of its date. A payment is cash collected; a credit memo
    is billing taken back.
-#}

with

payments as (

    select * from {{ ref('stg_netsuite__payments') }}

),

credit_memos as (

    select * from {{ ref('stg_netsuite__credit_memos') }}

),

transaction_links as (

    select * from {{ ref('stg_netsuite__transaction_links') }}

),

invoices as (

    select * from {{ ref('stg_netsuite__invoices') }}

),

customers as (

    select * from {{ ref('int_customers__matched') }}
    where source_system = 'netsuite'

),

fx_rates as (

    select * from {{ ref('int_fx_rates__daily') }}

),

settlements as (

    select
        payment_id as settlement_id,
        'payment' as settlement_type,
        payment_number as settlement_number,
        external_id,
        erp_customer_id,
        project_code,
        cast(null as bigint) as created_from_invoice_id,
        payment_status as settlement_status,
        total_amount,
        total_currency,
        paid_on as settled_on
    from payments

    union all

    select
        credit_memo_id as settlement_id,
        'credit_memo' as settlement_type,
        credit_memo_number as settlement_number,
        external_id,
        erp_customer_id,
        project_code,
        invoice_id as created_from_invoice_id,
        credit_memo_status as settlement_status,
        total_amount,
        total_currency,
        credited_on as settled_on
    from credit_memos

),

applied as (

    select
        applying_transaction_id,
        min(invoice_id) as invoice_id,
        count(*) as invoice_count,
        cast(sum(applied_amount) as decimal(18, 2)) as applied_amount
    from transaction_links
    group by applying_transaction_id

),

final as (

    select

        ---------- ids
        settlements.settlement_id as payment_id,
        settlements.settlement_number as payment_number,
        coalesce(applied.invoice_id, settlements.created_from_invoice_id) as invoice_id,
        coalesce(settlements.project_code, invoices.project_code) as project_code,
        customers.crm_company_id as customer_id,
        settlements.erp_customer_id,
        settlements.external_id,

        ---------- text
        settlements.settlement_type,
        settlements.settlement_status as payment_status,

        ---------- numerics
        settlements.total_amount as payment_amount,
        settlements.total_currency as payment_currency,
        cast(round(settlements.total_amount * fx_rates.fx_rate, 2) as decimal(18, 2))
            as payment_reporting_amount,
        applied.applied_amount,
        coalesce(applied.invoice_count, 0) as applied_invoice_count,
        '{{ var("reporting_currency") | upper }}' as reporting_currency,

        ---------- dates
        settlements.settled_on as paid_on,

        ---------- flags
        settlements.settlement_type = 'credit_memo' as is_credit_memo

    from settlements
    left join applied on applied.applying_transaction_id = settlements.settlement_id
    left join invoices
        on invoices.invoice_id = coalesce(applied.invoice_id, settlements.created_from_invoice_id)
    left join customers
        on customers.source_record_id
        = cast(settlements.erp_customer_id as {{ dbt.type_string() }})
    left join fx_rates
        on fx_rates.currency = settlements.total_currency
        and fx_rates.rate_on = settlements.settled_on

)

select * from final
