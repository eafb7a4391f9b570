{#-
    The months the firm's own billing run has invoiced, one row per month. The firm invoices a
    month in the next one (the sandbox on the 15th), one invoice per project, so an invoice of
    the run bills the month before its date. Invoices with an external id are not the run's:
    they are corrections the pipeline pushed back (drafts the reverse sync wrote), dated when
    they were written. Time, expenses and milestones of a month invoiced here should be on an
    invoice; those of a later month are work in progress.
-#}

with

invoices as (

    select * from {{ ref('stg_netsuite__invoices') }}
    where external_id is null

),

billed as (

    select
        cast({{ dbt.dateadd('month', -1, dbt.date_trunc('month', 'invoiced_on')) }} as date)
            as billing_month,
        invoice_id,
        invoiced_on
    from invoices

),

final as (

    select

        ---------- ids
        billing_month,

        ---------- numerics
        count(*) as invoice_count,

        ---------- dates
        min(invoiced_on) as first_invoiced_on,
        max(invoiced_on) as last_invoiced_on

    from billed
    group by billing_month

)

select * from final
