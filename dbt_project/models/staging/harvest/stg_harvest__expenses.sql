{#-
    Harvest expenses, one row per expense. total_cost is what the consultant spent, in the
    client's currency; billable expenses are re-billed at cost. Approval works as for time
    (is_closed once the timesheet is approved).
-#}

with

source as (

    {{ latest_by_key(source('harvest', 'expenses'), 'id') }}

),

renamed as (

    select

        ---------- ids
        id as expense_id,
        user__id as harvest_user_id,
        client__id as harvest_client_id,
        project__id as harvest_project_id,
        expense_category__id as harvest_expense_category_id,
        invoice__id as harvest_invoice_id,
        nullif(trim(project__code), '') as project_code,

        ---------- text
        expense_category__name as expense_category_name,
        user__name as user_name,
        client__name as client_name,
        project__name as project_name,
        notes,
        locked_reason,

        ---------- numerics
        cast(total_cost as decimal(18, 2)) as expense_amount,
        upper(client__currency) as expense_currency,
        cast(units as decimal(18, 4)) as units,

        ---------- dates
        cast(spent_date as date) as spent_on,
        cast(created_at as timestamp with time zone) at time zone 'UTC' as created_at,
        cast(updated_at as timestamp with time zone) at time zone 'UTC' as updated_at,

        ---------- flags
        billable as is_billable,
        is_closed as is_approved,
        is_locked,
        is_billed

    from source

)

select * from renamed
