{#-
    Harvest time entries, one row per entry. Harvest knows nothing of the ERP: is_billed and
    harvest_invoice_id stay empty when billing happens in NetSuite (the ERP line names the entry
    in custcol_time_entry_id instead). The bill rate is the one the time tool stamped on the
    entry (it can lag a contract amendment); the cost rate is the person's on the day, in their
    employing entity's currency, which Harvest does not record.
-#}

with

source as (

    {{ latest_by_key(source('harvest', 'time_entries'), 'id') }}

),

renamed as (

    select

        ---------- ids
        id as time_entry_id,
        user__id as harvest_user_id,
        client__id as harvest_client_id,
        project__id as harvest_project_id,
        task__id as harvest_task_id,
        invoice__id as harvest_invoice_id,
        nullif(trim(project__code), '') as project_code,

        ---------- text
        user__name as user_name,
        client__name as client_name,
        project__name as project_name,
        task__name as task_name,
        notes,
        locked_reason,

        ---------- numerics
        cast(hours as decimal(18, 4)) as hours,
        cast(rounded_hours as decimal(18, 4)) as rounded_hours,
        cast(billable_rate as decimal(18, 2)) as bill_rate_amount,
        upper(client__currency) as bill_rate_currency,
        cast(cost_rate as decimal(18, 2)) as cost_rate_amount,

        ---------- dates
        cast(spent_date as date) as spent_on,
        cast(created_at as timestamp with time zone) at time zone 'UTC' as created_at,
        cast(updated_at as timestamp with time zone) at time zone 'UTC' as updated_at,

        ---------- flags
        billable as is_billable,
        is_closed as is_approved,
        is_locked,
        is_billed,
        is_running

    from source

)

select * from renamed
