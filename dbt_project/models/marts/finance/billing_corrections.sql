{#-
    Approved billable time that the ERP has not invoiced, in a project-month whose invoice has
    already gone out: the monthly cycle ran and missed these entries. Time from a month not yet
    invoiced is work in progress, not a correction. One row per time entry; the reverse sync
    turns them into draft invoices in the ERP.
-#}

with

time_entries as (

    select * from {{ ref('stg_harvest__time_entries') }}

),

invoices as (

    select * from {{ ref('stg_netsuite__invoices') }}

),

invoice_lines as (

    select * from {{ ref('stg_netsuite__invoice_lines') }}

),

invoiced_time as (

    select
        invoice_lines.time_entry_id,
        invoices.erp_customer_id
    from invoice_lines
    inner join invoices on invoices.invoice_id = invoice_lines.invoice_id
    where invoice_lines.time_entry_id is not null

),

invoiced_project_months as (

    select distinct
        time_entries.project_code,
        cast({{ dbt.date_trunc('month', 'time_entries.spent_on') }} as date) as billing_month,
        invoiced_time.erp_customer_id
    from time_entries
    inner join invoiced_time on invoiced_time.time_entry_id = time_entries.time_entry_id

),

unbilled_time as (

    select
        time_entries.*,
        cast({{ dbt.date_trunc('month', 'time_entries.spent_on') }} as date) as billing_month
    from time_entries
    where
        time_entries.is_approved
        and time_entries.is_billable
        and not exists (
            select 1 from invoiced_time
            where invoiced_time.time_entry_id = time_entries.time_entry_id
        )

),

corrections as (

    select

        ---------- ids
        {{ dbt.concat(["'unbilled-time-'", dbt.safe_cast('unbilled_time.time_entry_id', dbt.type_string())]) }}
            as correction_id,
        unbilled_time.time_entry_id,
        unbilled_time.project_code,
        invoiced_project_months.erp_customer_id,

        ---------- text
        'unbilled_time' as correction_type,
        unbilled_time.user_name,

        ---------- numerics
        unbilled_time.hours,
        unbilled_time.bill_rate_amount,
        cast(round(unbilled_time.hours * unbilled_time.bill_rate_amount, 2) as decimal(18, 2))
            as correction_amount,
        unbilled_time.bill_rate_currency as correction_currency,

        ---------- dates
        unbilled_time.spent_on,
        unbilled_time.billing_month

    from unbilled_time
    inner join invoiced_project_months
        on invoiced_project_months.project_code = unbilled_time.project_code
        and invoiced_project_months.billing_month = unbilled_time.billing_month

)

select * from corrections
