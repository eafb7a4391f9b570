{#-
    Harvest time entries, one row per entry. Harvest knows nothing of the ERP: is_billed and
    harvest_invoice_id stay empty when billing happens in NetSuite (the ERP line names the entry
    in custcol_time_entry_id instead). The bill rate is the one the time tool stamped on the
    entry (it can lag a contract amendment); the cost rate is the person's on the day, in their
    employing entity's currency, which Harvest does not record.

    A time entry names its project and client by id and name only (Harvest's reference), so the
    project code is read from the project and the currency from the client (or the project's
    client); a copy on the entry itself, which some tenants send, is the fallback.
-#}

with

source as (

    {{ latest_by_key(source('harvest', 'time_entries'), 'id') }}

),

projects as (

    {{ latest_by_key(source('harvest', 'projects'), 'id') }}

),

clients as (

    {{ latest_by_key(source('harvest', 'clients'), 'id') }}

),

renamed as (

    select

        ---------- ids
        source.id as time_entry_id,
        source.user__id as harvest_user_id,
        source.client__id as harvest_client_id,
        source.project__id as harvest_project_id,
        source.task__id as harvest_task_id,
        source.invoice__id as harvest_invoice_id,
        coalesce(
            nullif(trim(projects.code), ''), nullif(trim(source.project__code), '')
        ) as project_code,

        ---------- text
        source.user__name as user_name,
        source.client__name as client_name,
        source.project__name as project_name,
        source.task__name as task_name,
        source.notes,
        source.locked_reason,

        ---------- numerics
        cast(source.hours as decimal(18, 4)) as hours,
        cast(source.rounded_hours as decimal(18, 4)) as rounded_hours,
        cast(source.billable_rate as decimal(18, 2)) as bill_rate_amount,
        upper(
            coalesce(clients.currency, projects.client__currency, source.client__currency)
        ) as bill_rate_currency,
        cast(source.cost_rate as decimal(18, 2)) as cost_rate_amount,

        ---------- dates
        cast(source.spent_date as date) as spent_on,
        cast(source.created_at as timestamp with time zone) at time zone 'UTC' as created_at,
        cast(source.updated_at as timestamp with time zone) at time zone 'UTC' as updated_at,

        ---------- flags
        source.billable as is_billable,
        source.is_closed as is_approved,
        source.is_locked,
        source.is_billed,
        source.is_running

    from source
    left join projects on projects.id = source.project__id
    left join clients on clients.id = source.client__id

)

select * from renamed
