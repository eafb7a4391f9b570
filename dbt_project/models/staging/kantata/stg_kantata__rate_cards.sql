{#-
    Kantata rate cards: a workspace's hourly bill rate per role from its effective date, as the
    PSA keeps it (the contract's rate card, one set per contract version that changed rates).
    A rate is in force from effective_on until the next rate of the same workspace and role
    (`superseded_on`, exclusive).
-#}

with

source as (

    {{ latest_by_key(source('kantata', 'rate_cards'), 'id', 'updated_at desc, _dlt_load_id desc') }}

),

renamed as (

    select

        ----------  ids
        cast(id as bigint) as rate_card_id,
        cast(workspace_id as bigint) as workspace_id,

        ---------- text
        title as rate_card_title,
        trim(role) as role_name,
        lower(replace(trim(role), ' ', '_')) as role_key,

        ---------- numerics
        cast(rate_in_cents * 0.01 as decimal(18, 2)) as bill_rate_amount,
        upper(trim(currency)) as bill_rate_currency,

        ---------- dates
        cast(effective_date as date) as effective_on,
        lead(cast(effective_date as date)) over (
            partition by workspace_id, trim(role)
            order by cast(effective_date as date), cast(id as bigint)
        ) as superseded_on,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at

    from source

)

select * from renamed
