{#-
    Sold vs delivered vs billed per project. Sold is the won deal amount; delivered is approved
    billable hours at the entry's rate; billed is the ERP invoice lines, drafts included.
    Values are in the project's currency (conversion to a reporting currency comes later).
-#}

with

deals as (

    select * from {{ ref('stg_hubspot__deals') }}

),

time_entries as (

    select * from {{ ref('stg_harvest__time_entries') }}

),

invoices as (

    select * from {{ ref('stg_netsuite__invoices') }}

),

invoice_lines as (

    select * from {{ ref('stg_netsuite__invoice_lines') }}

),

sold as (

    select
        project_code,
        deal_currency as currency,
        sum(deal_amount) as sold_amount
    from deals
    where is_won and project_code is not null
    group by 1, 2

),

delivered as (

    select
        project_code,
        bill_rate_currency as currency,
        sum(hours) as delivered_hours,
        sum(round(hours * bill_rate_amount, 2)) as delivered_amount
    from time_entries
    where is_approved and is_billable
    group by 1, 2

),

billed as (

    select
        invoices.project_code,
        invoices.total_currency as currency,
        sum(invoice_lines.line_amount) as billed_amount
    from invoice_lines
    inner join invoices on invoices.invoice_id = invoice_lines.invoice_id
    group by 1, 2

),

projects as (

    select project_code, currency from sold
    union
    select project_code, currency from delivered
    union
    select project_code, currency from billed

),

margin as (

    select
        projects.project_code,
        projects.currency,
        cast(coalesce(sold.sold_amount, 0) as decimal(18, 2)) as sold_amount,
        cast(coalesce(delivered.delivered_hours, 0) as decimal(18, 4)) as delivered_hours,
        cast(coalesce(delivered.delivered_amount, 0) as decimal(18, 2)) as delivered_amount,
        cast(coalesce(billed.billed_amount, 0) as decimal(18, 2)) as billed_amount
    from projects
    left join sold
        on sold.project_code = projects.project_code and sold.currency = projects.currency
    left join delivered
        on delivered.project_code = projects.project_code and delivered.currency = projects.currency
    left join billed
        on billed.project_code = projects.project_code and billed.currency = projects.currency

)

select
    *,
    delivered_amount - billed_amount as unbilled_amount,
    sold_amount - delivered_amount as remaining_sold_amount
from margin
