{#-
    What to push to the ERP for each leakage item a billing record can put right. One row per
    correction:

    invoice_time         unbilled_time: a draft invoice line for the hours at the entry's rate
    invoice_expense      expense_not_invoiced: a draft invoice line for the expense
    invoice_milestone    milestone_not_invoiced: a draft invoice line for the milestone
    rate_adjustment      superseded_rate: a one-unit draft invoice line for the difference
                         between the hours at the contract's rate and the line billed (a
                         credit when billed too high); one unit, because the difference of two
                         rounded amounts is not always hours x a rate to the cent
    credit_duplicate     time_billed_twice: a credit memo line for the line billed again

    erp_invoice_id is the ERP invoice holding the line a rate adjustment or a credit corrects:
    the reverse sync creates its credit memos from that invoice and applies them to it.

    won_deal_without_project and unmapped_project_code are not here: no invoice can be drafted
    until someone sets the project up or says which project the code meant; they stay in
    revenue_leakage for review.

    correction_id is the leakage item's id, so it never changes; correction_version is a digest
    of everything the ERP record would carry (the source ids included), so it changes exactly
    when the content does; the ERP external id is derived from the id alone, so a new version
    updates the same ERP record.
-#}

with

leakage as (

    select * from {{ ref('revenue_leakage') }}

),

time_entries as (

    select * from {{ ref('fct_time_entry') }}

),

invoice_lines as (

    select * from {{ ref('fct_invoice_line') }}

),

expenses as (

    select * from {{ ref('fct_expense') }}

),

milestones as (

    select * from {{ ref('fct_milestone') }}

),

projects as (

    select * from {{ ref('dim_project') }}

),

resources as (

    select * from {{ ref('dim_resource') }}

),

correctable as (

    select
        leakage.*,
        case leakage.cause
            when 'unbilled_time' then 'invoice_time'
            when 'expense_not_invoiced' then 'invoice_expense'
            when 'milestone_not_invoiced' then 'invoice_milestone'
            when 'superseded_rate' then 'rate_adjustment'
            when 'time_billed_twice' then 'credit_duplicate'
        end as correction_type
    from leakage
    where leakage.cause in (
        'unbilled_time',
        'expense_not_invoiced',
        'milestone_not_invoiced',
        'superseded_rate',
        'time_billed_twice'
    )

),

detailed as (

    select
        correctable.leakage_id as correction_id,
        correctable.correction_type,
        correctable.cause,
        correctable.project_code,
        projects.erp_customer_id,
        correctable.time_entry_id,
        correctable.expense_id,
        correctable.milestone_id,
        correctable.invoice_line_id,
        invoice_lines.invoice_id as erp_invoice_id,
        coalesce(resources.full_name, milestones.milestone_title, expenses.expense_category_name)
            as line_description,
        case
            when correctable.correction_type = 'invoice_time' then time_entries.hours
            when correctable.correction_type = 'credit_duplicate' then invoice_lines.quantity
            else cast(1 as decimal(18, 4))
        end as quantity,
        case
            when correctable.correction_type = 'invoice_time' then time_entries.bill_rate_amount
            when correctable.correction_type = 'credit_duplicate' then invoice_lines.rate_amount
            else correctable.leakage_amount
        end as rate_amount,
        correctable.leakage_amount as correction_amount,
        correctable.leakage_currency as correction_currency,
        correctable.leakage_reporting_amount as correction_reporting_amount,
        correctable.reporting_currency,
        coalesce(time_entries.spent_on, correctable.leakage_on) as spent_on,
        correctable.billing_month
    from correctable
    left join projects on projects.project_code = correctable.project_code
    left join time_entries on time_entries.time_entry_id = correctable.time_entry_id
    left join resources on resources.resource_id = time_entries.resource_id
    left join invoice_lines on invoice_lines.invoice_line_id = correctable.invoice_line_id
    left join expenses on expenses.expense_id = correctable.expense_id
    left join milestones on milestones.milestone_id = correctable.milestone_id

),

final as (

    select

        ---------- ids
        correction_id,
        {{ dbt.hash(dbt.concat([
            "correction_type",
            "'|'", "coalesce(project_code, '')",
            "'|'", "coalesce(" ~ dbt.safe_cast('erp_customer_id', dbt.type_string()) ~ ", '')",
            "'|'", "coalesce(line_description, '')",
            "'|'", "coalesce(" ~ dbt.safe_cast('time_entry_id', dbt.type_string()) ~ ", '')",
            "'|'", "coalesce(" ~ dbt.safe_cast('expense_id', dbt.type_string()) ~ ", '')",
            "'|'", "coalesce(" ~ dbt.safe_cast('milestone_id', dbt.type_string()) ~ ", '')",
            "'|'", "coalesce(" ~ dbt.safe_cast('invoice_line_id', dbt.type_string()) ~ ", '')",
            "'|'", dbt.safe_cast('quantity', dbt.type_string()),
            "'|'", dbt.safe_cast('rate_amount', dbt.type_string()),
            "'|'", dbt.safe_cast('correction_amount', dbt.type_string()),
            "'|'", "correction_currency",
            "'|'", dbt.safe_cast('billing_month', dbt.type_string()),
        ])) }} as correction_version,
        {{ dbt.concat(["'PSA-CORR-'", "correction_id"]) }} as erp_external_id,
        project_code,
        erp_customer_id,
        time_entry_id,
        expense_id,
        milestone_id,
        invoice_line_id,
        erp_invoice_id,

        ---------- text
        correction_type,
        cause,
        line_description,

        ---------- numerics
        cast(quantity as decimal(18, 4)) as quantity,
        cast(rate_amount as decimal(18, 2)) as rate_amount,
        cast(correction_amount as decimal(18, 2)) as correction_amount,
        correction_currency,
        cast(correction_reporting_amount as decimal(18, 2)) as correction_reporting_amount,
        reporting_currency,

        ---------- dates
        spent_on,
        billing_month

    from detailed

)

select * from final
