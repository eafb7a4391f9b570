{#-
    HubSpot `p_contracts` (a custom object): one row per signed SOW version. An amendment is a
    new version of the same contract_number; the one it replaces becomes `superseded`. A
    version is in force from its effective date until the next version's (`superseded_on`,
    exclusive). Every amount is in contract_currency; the bill rates are per hour and role.
    The connector lands amounts as DECIMAL and the date properties as DATE; a custom object's
    creation date is `hs_createdate`, so the record's `createdAt` is read instead.
-#}

with

source as (

    {{ latest_by_key(source('hubspot', 'p_contracts'), 'id', 'updated_at desc, _dlt_load_id desc') }}

),

renamed as (

    select

        ----------  ids
        cast(id as {{ dbt.type_string() }}) as contract_version_id,
        trim(properties__contract_number) as contract_number,
        cast(properties__version_number as integer) as version_number,
        cast(deal_id as {{ dbt.type_string() }}) as deal_id,
        nullif(trim(properties__project_code), '') as project_code,

        ---------- text
        properties__billing_model as billing_model,
        properties__contract_status as contract_status,
        properties__amendment_reason as amendment_reason,

        ---------- numerics
        upper(trim(properties__contract_currency)) as contract_currency,
        cast(properties__total_value as decimal(18, 2)) as contract_value_amount,
        cast(properties__monthly_fee as decimal(18, 2)) as monthly_fee_amount,
        cast(properties__rate_analyst as decimal(18, 2)) as analyst_rate_amount,
        cast(properties__rate_consultant as decimal(18, 2)) as consultant_rate_amount,
        cast(properties__rate_senior_consultant as decimal(18, 2)) as senior_consultant_rate_amount,
        cast(properties__rate_manager as decimal(18, 2)) as manager_rate_amount,
        cast(properties__rate_partner as decimal(18, 2)) as partner_rate_amount,

        ---------- dates
        cast(properties__effective_date as date) as effective_on,
        lead(cast(properties__effective_date as date)) over (
            partition by trim(properties__contract_number)
            order by cast(properties__version_number as integer)
        ) as superseded_on,
        cast(properties__end_date as date) as contract_ends_on,
        cast(created_at as date) as signed_on,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at,

        ---------- flags
        properties__contract_status = 'active' as is_current_version,
        coalesce(archived, false) as is_archived

    from source

)

select * from renamed
