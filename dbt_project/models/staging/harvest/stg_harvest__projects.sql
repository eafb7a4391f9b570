{#-
    Harvest projects, one row per project. The code is what ties Harvest to the CRM deal and the
    ERP job; a code only Harvest knows (time booked to it never reaches an invoice) is still a
    project here. The fee is the fixed fee Harvest holds (fixed-fee and milestone projects), in
    the client's currency.
-#}

with

source as (

    {{ latest_by_key(source('harvest', 'projects'), 'id') }}

),

renamed as (

    select

        ---------- ids
        id as harvest_project_id,
        client__id as harvest_client_id,
        nullif(trim(code), '') as project_code,

        ---------- text
        name as project_name,
        client__name as client_name,
        bill_by,
        upper(client__currency) as billing_currency,

        ---------- numerics
        cast(fee as decimal(18, 2)) as fee_amount,
        upper(client__currency) as fee_currency,

        ---------- dates
        cast(starts_on as date) as starts_on,
        cast(ends_on as date) as ends_on,
        cast(created_at as timestamp with time zone) at time zone 'UTC' as created_at,
        cast(updated_at as timestamp with time zone) at time zone 'UTC' as updated_at,

        ---------- flags
        is_active,
        is_billable,
        is_fixed_fee

    from source

)

select * from renamed
