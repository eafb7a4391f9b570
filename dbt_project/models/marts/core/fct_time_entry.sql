{#-
    Time worked, one row per Harvest time entry: who (resource_id, the HR employee), on which
    project (project_code, the code every system shares) and for which customer (customer_id,
    the CRM company), doing which task (Harvest's task list: its name, whether its time is
    billable by default), rated at the contract's bill rate and HR's cost rate on the day
    (int_time_entries__rated), with what the ERP has billed for it and credited back (credit
    memo lines naming the entry, as the reverse sync writes them for time billed twice). Amounts are in their
    transaction currency (billing: the client's; cost: the employing entity's) and in the
    reporting currency at the day's rate (int_fx_rates__daily).
-#}

with

rated as (

    select * from {{ ref('int_time_entries__rated') }}

),

time_entries as (

    select * from {{ ref('stg_harvest__time_entries') }}

),

customers as (

    select * from {{ ref('int_customers__matched') }}
    where source_system = 'harvest'

),

invoice_lines as (

    select * from {{ ref('int_invoice_lines__linked') }}
    where time_entry_id is not null

),

fx_rates as (

    select * from {{ ref('int_fx_rates__daily') }}

),

tasks as (

    select * from {{ ref('stg_harvest__tasks') }}

),

credit_memo_lines as (

    select * from {{ ref('stg_netsuite__credit_memo_lines') }}
    where time_entry_id is not null

),

billed as (

    select
        time_entry_id,
        min(invoice_line_id) as first_invoice_line_id,
        count(*) as invoice_line_count,
        cast(sum(line_amount) as decimal(18, 2)) as billed_amount
    from invoice_lines
    group by time_entry_id

),

credited as (

    select
        time_entry_id,
        count(*) as credit_memo_line_count,
        cast(sum(line_amount) as decimal(18, 2)) as credited_amount
    from credit_memo_lines
    group by time_entry_id

),

final as (

    select

        ---------- ids
        rated.time_entry_id,
        rated.project_code,
        rated.employee_id as resource_id,
        customers.crm_company_id as customer_id,
        rated.harvest_user_id,
        time_entries.harvest_client_id,
        rated.harvest_project_id,
        rated.harvest_task_id,
        rated.contract_version_id,
        rated.compensation_id,
        billed.first_invoice_line_id,

        ---------- text
        rated.role_key,
        rated.billing_model,
        coalesce(tasks.task_name, rated.task_name) as task_name,

        ---------- numerics
        rated.hours,
        cast(case when rated.is_billable then rated.hours else 0 end as decimal(18, 4))
            as billable_hours,
        rated.entry_rate_amount,
        rated.entry_amount,
        rated.bill_rate_amount,
        rated.bill_amount,
        coalesce(rated.bill_rate_currency, rated.entry_rate_currency) as bill_currency,
        cast(round(rated.bill_amount * bill_fx.fx_rate, 2) as decimal(18, 2))
            as bill_reporting_amount,
        rated.cost_rate_amount,
        rated.cost_amount,
        rated.cost_rate_currency as cost_currency,
        cast(round(rated.cost_amount * cost_fx.fx_rate, 2) as decimal(18, 2))
            as cost_reporting_amount,
        coalesce(billed.invoice_line_count, 0) as invoice_line_count,
        cast(coalesce(billed.billed_amount, 0) as decimal(18, 2)) as billed_amount,
        cast(round(coalesce(billed.billed_amount, 0) * bill_fx.fx_rate, 2) as decimal(18, 2))
            as billed_reporting_amount,
        coalesce(credited.credit_memo_line_count, 0) as credit_memo_line_count,
        cast(coalesce(credited.credited_amount, 0) as decimal(18, 2)) as credited_amount,
        cast(round(coalesce(credited.credited_amount, 0) * bill_fx.fx_rate, 2) as decimal(18, 2))
            as credited_reporting_amount,
        '{{ var("reporting_currency") | upper }}' as reporting_currency,

        ---------- dates
        rated.spent_on,
        cast({{ dbt.date_trunc('month', 'rated.spent_on') }} as date) as spent_month,

        ---------- flags
        rated.is_billable,
        rated.is_approved,
        billed.time_entry_id is not null as is_billed,
        rated.has_superseded_rate,
        tasks.is_billable_by_default as is_task_billable_by_default,
        credited.time_entry_id is not null as is_credited

    from rated
    inner join time_entries on time_entries.time_entry_id = rated.time_entry_id
    left join customers
        on customers.source_record_id
        = cast(time_entries.harvest_client_id as {{ dbt.type_string() }})
    left join billed on billed.time_entry_id = rated.time_entry_id
    left join tasks on tasks.harvest_task_id = rated.harvest_task_id
    left join credited on credited.time_entry_id = rated.time_entry_id
    left join fx_rates as bill_fx
        on bill_fx.currency = coalesce(rated.bill_rate_currency, rated.entry_rate_currency)
        and bill_fx.rate_on = rated.spent_on
    left join fx_rates as cost_fx
        on cost_fx.currency = rated.cost_rate_currency
        and cost_fx.rate_on = rated.spent_on

)

select * from final
