{#-
    Unbilled work in progress, one row per item, as of the as-of date (int_as_of__derived):
    approved billable work the firm will invoice at its next billing run, with its age.

    An item is WIP when it is delivered, billable, on no invoice line, and from a month the
    billing run has not invoiced yet (after closed_through_month; the sandbox invoices month M
    on the 15th of M + 1, so until then the month before is WIP too):
      time       approved billable time on a time-and-materials contract, valued at the
                 contract's rate in force on the day (the delivered value; invoice_amount is
                 what the run will bill, at the rate the time tool stamped on the entry);
      expense    an approved billable expense on a project the ERP knows, at cost;
      milestone  a completed milestone of a milestone contract, at its amount.
    The same kinds of item from a month the run has already invoiced are not WIP: the run
    left them off, so revenue_leakage lists them (unbilled_time, expense_not_invoiced,
    milestone_not_invoiced), and WIP and leakage never share an item. Fees of fixed-fee and
    retainer contracts are billed on their schedule, not as work is done, so they are not WIP.

    Age: days from the day the work was done (the milestone's due date) to the as-of date;
    buckets 0-30, 31-60, 61-90, 90+. Items dated after the as-of date are left out.
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

projects as (

    select * from {{ ref('dim_project') }}

),

fx_rates as (

    select * from {{ ref('int_fx_rates__daily') }}

),

as_of as (

    select * from {{ ref('int_as_of__derived') }}

),

items as (

    select
        'time' as wip_type,
        cast(time_entries.time_entry_id as {{ dbt.type_string() }}) as source_record_id,
        time_entries.project_code,
        time_entries.customer_id,
        time_entries.resource_id,
        time_entries.time_entry_id,
        cast(null as bigint) as expense_id,
        cast(null as bigint) as milestone_id,
        time_entries.billable_hours as wip_hours,
        time_entries.bill_amount as wip_amount,
        time_entries.entry_amount as invoice_amount,
        time_entries.bill_currency as wip_currency,
        time_entries.bill_reporting_amount as wip_reporting_amount,
        time_entries.spent_on as work_on
    from time_entries
    where
        time_entries.is_billable
        and time_entries.is_approved
        and not time_entries.is_billed
        and time_entries.billing_model = 'time_and_materials'

    union all

    select
        'expense' as wip_type,
        cast(expenses.expense_id as {{ dbt.type_string() }}) as source_record_id,
        upper(expenses.project_code) as project_code,
        expenses.customer_id,
        expenses.resource_id,
        cast(null as bigint) as time_entry_id,
        expenses.expense_id,
        cast(null as bigint) as milestone_id,
        cast(0 as decimal(18, 4)) as wip_hours,
        expenses.expense_amount as wip_amount,
        expenses.expense_amount as invoice_amount,
        expenses.expense_currency as wip_currency,
        expenses.expense_reporting_amount as wip_reporting_amount,
        expenses.spent_on as work_on
    from expenses
    inner join projects on projects.project_code = upper(expenses.project_code)
    where
        expenses.is_billable
        and expenses.is_approved
        and not expenses.is_billed
        and projects.is_in_erp

    union all

    select
        'milestone' as wip_type,
        cast(milestones.milestone_id as {{ dbt.type_string() }}) as source_record_id,
        milestones.project_code,
        projects.customer_id,
        cast(null as bigint) as resource_id,
        cast(null as bigint) as time_entry_id,
        cast(null as bigint) as expense_id,
        milestones.milestone_id,
        cast(0 as decimal(18, 4)) as wip_hours,
        milestones.milestone_amount as wip_amount,
        milestones.milestone_amount as invoice_amount,
        milestones.milestone_currency as wip_currency,
        milestones.milestone_reporting_amount as wip_reporting_amount,
        milestones.due_on as work_on
    from milestones
    left join projects on projects.project_code = milestones.project_code
    where
        milestones.is_billable
        and milestones.is_completed
        and not milestones.is_billed
        and milestones.billing_model = 'milestone'

),

aged as (

    select
        items.*,
        as_of.as_of_on,
        {{ dbt.datediff('items.work_on', 'as_of.as_of_on', 'day') }} as age_days,
        projects.practice,
        projects.legal_entity
    from items
    cross join as_of
    left join projects on projects.project_code = items.project_code
    where
        items.work_on <= as_of.as_of_on
        and cast({{ dbt.date_trunc('month', 'items.work_on') }} as date)
        > coalesce(as_of.closed_through_month, cast('1900-01-01' as date))

),

final as (

    select

        ---------- ids
        {{ dbt.concat(['wip_type', "'-'", 'source_record_id']) }} as wip_item_id,
        project_code,
        customer_id,
        resource_id,
        time_entry_id,
        expense_id,
        milestone_id,
        source_record_id,

        ---------- text
        wip_type,
        case
            when age_days <= 30 then '0-30'
            when age_days <= 60 then '31-60'
            when age_days <= 90 then '61-90'
            else '90+'
        end as aging_bucket,
        practice,
        legal_entity,

        ---------- numerics
        cast(wip_hours as decimal(18, 4)) as wip_hours,
        cast(wip_amount as decimal(18, 2)) as wip_amount,
        cast(invoice_amount as decimal(18, 2)) as invoice_amount,
        wip_currency,
        cast(wip_reporting_amount as decimal(18, 2)) as wip_reporting_amount,
        '{{ reporting_currency }}' as reporting_currency,
        cast(age_days as integer) as age_days,

        ---------- dates
        work_on,
        cast({{ dbt.date_trunc('month', 'work_on') }} as date) as work_month,
        as_of_on

    from aged

)

select * from final
