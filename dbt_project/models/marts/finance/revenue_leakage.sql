{#-
    Revenue leakage: money the firm has lost or owes back, one row per item, with its cause, its
    amount (in the currency it would have been billed in, and in the reporting currency at the
    rate of the day it leaked) and the ids of every source record involved. The causes:

    unbilled_time             approved billable time on a time-and-materials contract, from a
                              month the billing run has invoiced, on no invoice line: the hours
                              at the rate on the entry
    superseded_rate           the first invoice line billing time at a rate other than the
                              contract version's in force on the day: what the contract's rate
                              would have added (hours x contract rate - the line); a later line
                              billing the entry again is time_billed_twice, credited in full
    time_billed_twice         a time entry on a second (third ...) invoice line: that line
    milestone_not_invoiced    a completed milestone of a milestone contract, due in a month the
                              billing run has invoiced, on no invoice line: its amount
    expense_not_invoiced      an approved billable expense on an ERP project, from a month the
                              billing run has invoiced, on no invoice line: its cost
    won_deal_without_project  a won deal whose project is in neither the PSA nor the ERP: never
                              set up, so never staffed, worked or invoiced: the deal's amount
    unmapped_project_code     billable time booked to a code only the time tool knows (no deal,
                              contract, PSA workspace or ERP job has it), so no invoice will
                              ever carry it: the hours at the rate on the entry

    Not leakage, so never here: time, expenses and milestones of a month the billing run has not
    invoiced yet (work in progress), time not approved, non-billable time, and time on
    fixed-fee, retainer and milestone contracts (their invoices bill the fee or the milestone,
    not the hours). Each cause is detected from the warehouse alone. Put right, so not here
    either: an item whose correction the ERP now holds (int_corrections__in_erp: the reverse
    sync's draft invoice or credit memo line names it), as unbilled time on a draft is billed.
-#}

{%- set reporting_currency = var('reporting_currency') | upper %}

with

time_entries as (

    select * from {{ ref('fct_time_entry') }}

),

expenses as (

    select * from {{ ref('fct_expense') }}

),

milestones as (

    select * from {{ ref('fct_milestone') }}

),

invoice_lines as (

    select * from {{ ref('fct_invoice_line') }}

),

billing_months as (

    select * from {{ ref('int_billing_months__invoiced') }}

),

corrected_in_erp as (

    select * from {{ ref('int_corrections__in_erp') }}

),

projects as (

    select * from {{ ref('int_projects__matched') }}

),

deals as (

    select * from {{ ref('stg_hubspot__deals') }}

),

contract_versions as (

    select * from {{ ref('stg_hubspot__contract_versions') }}

),

fx_rates as (

    select * from {{ ref('int_fx_rates__daily') }}

),

invoiced_through as (

    -- the last month the billing run has invoiced; anything later is work in progress
    select max(billing_month) as billing_month from billing_months

),

unbilled_time as (

    select
        'unbilled_time' as cause,
        'harvest' as source_system,
        cast(time_entries.time_entry_id as {{ dbt.type_string() }}) as source_record_id,
        time_entries.project_code,
        time_entries.time_entry_id,
        cast(null as bigint) as expense_id,
        cast(null as bigint) as milestone_id,
        cast(null as {{ dbt.type_string() }}) as crm_deal_id,
        cast(null as {{ dbt.type_string() }}) as contract_version_id,
        cast(null as bigint) as invoice_line_id,
        cast(null as bigint) as original_invoice_line_id,
        time_entries.entry_amount as leakage_amount,
        time_entries.bill_currency as leakage_currency,
        time_entries.spent_on as leakage_on,
        time_entries.spent_month as billing_month
    from time_entries
    cross join invoiced_through
    where
        time_entries.is_billable
        and time_entries.is_approved
        and not time_entries.is_billed
        and time_entries.billing_model = 'time_and_materials'
        and time_entries.spent_month <= invoiced_through.billing_month

),

time_lines as (

    select
        invoice_lines.*,
        row_number() over (
            partition by invoice_lines.time_entry_id order by invoice_lines.invoice_line_id
        ) as billing_number
    from invoice_lines
    where invoice_lines.time_entry_id is not null

),

superseded_rate as (

    select
        'superseded_rate' as cause,
        'netsuite' as source_system,
        cast(time_lines.invoice_line_id as {{ dbt.type_string() }}) as source_record_id,
        time_lines.project_code,
        time_lines.time_entry_id,
        cast(null as bigint) as expense_id,
        cast(null as bigint) as milestone_id,
        cast(null as {{ dbt.type_string() }}) as crm_deal_id,
        time_entries.contract_version_id,
        time_lines.invoice_line_id,
        cast(null as bigint) as original_invoice_line_id,
        cast(
            round(time_lines.quantity * time_entries.bill_rate_amount, 2) - time_lines.line_amount
            as decimal(18, 2)
        ) as leakage_amount,
        time_lines.line_currency as leakage_currency,
        time_lines.invoiced_on as leakage_on,
        time_entries.spent_month as billing_month
    from time_lines
    inner join time_entries on time_entries.time_entry_id = time_lines.time_entry_id
    -- the first billing only: a line billing the entry again is time_billed_twice and credited
    -- in full, so adjusting its rate as well would correct it twice
    where time_lines.rate_amount <> time_entries.bill_rate_amount
        and time_lines.billing_number = 1

),

time_billed_twice as (

    select
        'time_billed_twice' as cause,
        'netsuite' as source_system,
        cast(again.time_entry_id as {{ dbt.type_string() }}) as source_record_id,
        again.project_code,
        again.time_entry_id,
        cast(null as bigint) as expense_id,
        cast(null as bigint) as milestone_id,
        cast(null as {{ dbt.type_string() }}) as crm_deal_id,
        cast(null as {{ dbt.type_string() }}) as contract_version_id,
        again.invoice_line_id,
        first_billing.invoice_line_id as original_invoice_line_id,
        again.line_amount as leakage_amount,
        again.line_currency as leakage_currency,
        again.invoiced_on as leakage_on,
        again.billing_month
    from time_lines as again
    inner join time_lines as first_billing
        on first_billing.time_entry_id = again.time_entry_id
        and first_billing.billing_number = 1
    where again.billing_number > 1

),

milestone_not_invoiced as (

    select
        'milestone_not_invoiced' as cause,
        'kantata' as source_system,
        cast(milestones.milestone_id as {{ dbt.type_string() }}) as source_record_id,
        milestones.project_code,
        cast(null as bigint) as time_entry_id,
        cast(null as bigint) as expense_id,
        milestones.milestone_id,
        cast(null as {{ dbt.type_string() }}) as crm_deal_id,
        milestones.signed_contract_version_id as contract_version_id,
        cast(null as bigint) as invoice_line_id,
        cast(null as bigint) as original_invoice_line_id,
        milestones.milestone_amount as leakage_amount,
        milestones.milestone_currency as leakage_currency,
        milestones.due_on as leakage_on,
        milestones.due_month as billing_month
    from milestones
    cross join invoiced_through
    where
        milestones.is_billable
        and milestones.is_completed
        and not milestones.is_billed
        and milestones.billing_model = 'milestone'
        and milestones.due_month <= invoiced_through.billing_month

),

expense_not_invoiced as (

    select
        'expense_not_invoiced' as cause,
        'harvest' as source_system,
        cast(expenses.expense_id as {{ dbt.type_string() }}) as source_record_id,
        expenses.project_code,
        cast(null as bigint) as time_entry_id,
        expenses.expense_id,
        cast(null as bigint) as milestone_id,
        cast(null as {{ dbt.type_string() }}) as crm_deal_id,
        cast(null as {{ dbt.type_string() }}) as contract_version_id,
        cast(null as bigint) as invoice_line_id,
        cast(null as bigint) as original_invoice_line_id,
        expenses.expense_amount as leakage_amount,
        expenses.expense_currency as leakage_currency,
        expenses.spent_on as leakage_on,
        expenses.spent_month as billing_month
    from expenses
    cross join invoiced_through
    inner join projects on projects.project_code = upper(expenses.project_code)
    where
        expenses.is_billable
        and expenses.is_approved
        and not expenses.is_billed
        and projects.is_in_erp
        and expenses.spent_month <= invoiced_through.billing_month

),

signed_contracts as (

    select * from contract_versions
    where version_number = 1

),

won_deal_without_project as (

    select
        'won_deal_without_project' as cause,
        'hubspot' as source_system,
        deals.deal_id as source_record_id,
        coalesce(deals.project_code, signed_contracts.project_code) as project_code,
        cast(null as bigint) as time_entry_id,
        cast(null as bigint) as expense_id,
        cast(null as bigint) as milestone_id,
        deals.deal_id as crm_deal_id,
        signed_contracts.contract_version_id,
        cast(null as bigint) as invoice_line_id,
        cast(null as bigint) as original_invoice_line_id,
        deals.deal_amount as leakage_amount,
        deals.deal_currency as leakage_currency,
        deals.closed_on as leakage_on,
        cast(null as date) as billing_month
    from deals
    left join signed_contracts on signed_contracts.deal_id = deals.deal_id
    left join projects
        on projects.project_code = upper(coalesce(deals.project_code, signed_contracts.project_code))
    where
        deals.is_won
        and not coalesce(projects.is_in_psa, false)
        and not coalesce(projects.is_in_erp, false)

),

unmapped_project_code as (

    select
        'unmapped_project_code' as cause,
        'harvest' as source_system,
        cast(time_entries.time_entry_id as {{ dbt.type_string() }}) as source_record_id,
        time_entries.project_code,
        time_entries.time_entry_id,
        cast(null as bigint) as expense_id,
        cast(null as bigint) as milestone_id,
        cast(null as {{ dbt.type_string() }}) as crm_deal_id,
        cast(null as {{ dbt.type_string() }}) as contract_version_id,
        cast(null as bigint) as invoice_line_id,
        cast(null as bigint) as original_invoice_line_id,
        time_entries.entry_amount as leakage_amount,
        time_entries.bill_currency as leakage_currency,
        time_entries.spent_on as leakage_on,
        time_entries.spent_month as billing_month
    from time_entries
    inner join projects on projects.project_code = upper(time_entries.project_code)
    where
        time_entries.is_billable
        and not projects.is_in_crm
        and not projects.has_contract
        and not projects.is_in_psa
        and not projects.is_in_erp

),

leakage as (

    select * from unbilled_time
    union all
    select * from superseded_rate
    union all
    select * from time_billed_twice
    union all
    select * from milestone_not_invoiced
    union all
    select * from expense_not_invoiced
    union all
    select * from won_deal_without_project
    union all
    select * from unmapped_project_code

),

final as (

    select

        ---------- ids
        {{ dbt.concat([
            'leakage.cause', "'-'",
            "case when leakage.cause in ('superseded_rate', 'time_billed_twice')"
            ~ " then " ~ dbt.safe_cast('leakage.invoice_line_id', dbt.type_string())
            ~ " else leakage.source_record_id end",
        ]) }} as leakage_id,
        leakage.project_code,
        leakage.time_entry_id,
        leakage.expense_id,
        leakage.milestone_id,
        leakage.crm_deal_id,
        leakage.contract_version_id,
        leakage.invoice_line_id,
        leakage.original_invoice_line_id,
        leakage.source_record_id,

        ---------- text
        leakage.cause,
        leakage.source_system,

        ---------- numerics
        cast(leakage.leakage_amount as decimal(18, 2)) as leakage_amount,
        leakage.leakage_currency,
        cast(round(leakage.leakage_amount * fx_rates.fx_rate, 2) as decimal(18, 2))
            as leakage_reporting_amount,
        '{{ reporting_currency }}' as reporting_currency,

        ---------- dates
        leakage.leakage_on,
        leakage.billing_month

    from leakage
    left join fx_rates
        on fx_rates.currency = leakage.leakage_currency
        and fx_rates.rate_on = leakage.leakage_on

),

still_open as (

    select final.*
    from final
    left join corrected_in_erp on corrected_in_erp.correction_id = final.leakage_id
    where corrected_in_erp.correction_id is null

)

select * from still_open
