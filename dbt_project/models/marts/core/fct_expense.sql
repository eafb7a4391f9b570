{#-
    Money spent on projects, one row per Harvest expense: who spent it (resource_id), on which
    project and customer, whether it is billable and approved, and the ERP invoice line that
    re-billed it at cost (int_invoice_lines__linked). Amounts in the expense's currency (the
    client's) and in the reporting currency at the rate of the day it was spent.
-#}

with

expenses as (

    select * from {{ ref('stg_harvest__expenses') }}

),

resources as (

    select * from {{ ref('int_resources__matched') }}
    where source_system = 'harvest'

),

customers as (

    select * from {{ ref('int_customers__matched') }}
    where source_system = 'harvest'

),

invoice_lines as (

    select * from {{ ref('int_invoice_lines__linked') }}
    where expense_id is not null

),

fx_rates as (

    select * from {{ ref('int_fx_rates__daily') }}

),

billed as (

    select
        expense_id,
        min(invoice_line_id) as invoice_line_id,
        count(*) as invoice_line_count,
        cast(sum(line_amount) as decimal(18, 2)) as billed_amount
    from invoice_lines
    group by expense_id

),

final as (

    select

        ---------- ids
        expenses.expense_id,
        expenses.project_code,
        resources.employee_id as resource_id,
        customers.crm_company_id as customer_id,
        expenses.harvest_user_id,
        expenses.harvest_client_id,
        expenses.harvest_project_id,
        expenses.harvest_expense_category_id,
        billed.invoice_line_id,

        ---------- text
        expenses.expense_category_name,

        ---------- numerics
        expenses.expense_amount,
        expenses.expense_currency,
        cast(round(expenses.expense_amount * fx_rates.fx_rate, 2) as decimal(18, 2))
            as expense_reporting_amount,
        coalesce(billed.invoice_line_count, 0) as invoice_line_count,
        cast(coalesce(billed.billed_amount, 0) as decimal(18, 2)) as billed_amount,
        '{{ var("reporting_currency") | upper }}' as reporting_currency,

        ---------- dates
        expenses.spent_on,
        cast({{ dbt.date_trunc('month', 'expenses.spent_on') }} as date) as spent_month,

        ---------- flags
        expenses.is_billable,
        expenses.is_approved,
        billed.expense_id is not null as is_billed

    from expenses
    left join resources
        on resources.source_record_id
        = cast(expenses.harvest_user_id as {{ dbt.type_string() }})
    left join customers
        on customers.source_record_id
        = cast(expenses.harvest_client_id as {{ dbt.type_string() }})
    left join billed on billed.expense_id = expenses.expense_id
    left join fx_rates
        on fx_rates.currency = expenses.expense_currency
        and fx_rates.rate_on = expenses.spent_on

)

select * from final
