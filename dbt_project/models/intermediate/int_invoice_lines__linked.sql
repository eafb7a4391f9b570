{#-
    Every ERP invoice line with its invoice header and what it bills, one row per line: the
    Harvest time entry, the Harvest expense or the Kantata milestone the firm's custom columns
    name (custcol_time_entry_id, custcol_expense_id, custcol_milestone_id), or none for a fee.

    billing_month is the month the line bills: for the firm's billing run (invoices without an
    external id), the month before the invoice's date, as the run invoices each month in the
    next; for a correction pushed back later, the month of the work it bills (the day worked or
    spent, the milestone's due date), else again the month before its date.
-#}

with

invoice_lines as (

    select * from {{ ref('stg_netsuite__invoice_lines') }}

),

invoices as (

    select * from {{ ref('stg_netsuite__invoices') }}

),

time_entries as (

    select * from {{ ref('stg_harvest__time_entries') }}

),

expenses as (

    select * from {{ ref('stg_harvest__expenses') }}

),

milestones as (

    select * from {{ ref('stg_kantata__stories') }}

),

final as (

    select

        ---------- ids
        invoice_lines.invoice_line_id,
        invoice_lines.invoice_id,
        invoices.invoice_number,
        invoices.external_id as invoice_external_id,
        invoices.erp_customer_id,
        invoices.project_code,
        invoice_lines.time_entry_id,
        invoice_lines.expense_id,
        invoice_lines.milestone_id,
        invoice_lines.line_number,

        ---------- text
        invoice_lines.item,
        invoice_lines.memo,
        invoices.invoice_status,
        case
            when invoice_lines.time_entry_id is not null then 'time'
            when invoice_lines.expense_id is not null then 'expense'
            when invoice_lines.milestone_id is not null then 'milestone'
            else 'other'
        end as billed_record_type,

        ---------- numerics
        invoice_lines.quantity,
        invoice_lines.rate_amount,
        invoice_lines.line_amount,
        invoice_lines.line_currency,

        ---------- dates
        invoices.invoiced_on,
        cast(
            case
                when invoices.external_id is null
                    then {{ dbt.dateadd('month', -1, dbt.date_trunc('month', 'invoices.invoiced_on')) }}
                else coalesce(
                    {{ dbt.date_trunc('month', 'time_entries.spent_on') }},
                    {{ dbt.date_trunc('month', 'expenses.spent_on') }},
                    {{ dbt.date_trunc('month', 'milestones.due_on') }},
                    {{ dbt.dateadd('month', -1, dbt.date_trunc('month', 'invoices.invoiced_on')) }}
                )
            end
            as date
        ) as billing_month,

        ---------- flags
        invoices.is_draft

    from invoice_lines
    inner join invoices on invoices.invoice_id = invoice_lines.invoice_id
    left join time_entries on time_entries.time_entry_id = invoice_lines.time_entry_id
    left join expenses on expenses.expense_id = invoice_lines.expense_id
    left join milestones on milestones.story_id = invoice_lines.milestone_id

)

select * from final
