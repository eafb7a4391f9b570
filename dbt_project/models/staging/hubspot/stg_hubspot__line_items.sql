{#-
    HubSpot line items, one row per line of a deal's quote: hours per role at the rate card
    for time and materials, or the single fee line of a fixed-fee, retainer or milestone deal.
    A line that sells a role's hours is named "<service> - <role>" ("Consulting - Senior
    Consultant"): the role is the text after the dash, keyed as HR's job titles are
    (stg_bamboohr__employees.role_key), so sold hours meet delivered ones; a fee line has none.
-#}

with

source as (

    {{ latest_by_key(source('hubspot', 'line_items'), 'id', 'updated_at desc, _dlt_load_id desc') }}

),

renamed as (

    select

        ----------  ids
        cast(id as {{ dbt.type_string() }}) as line_item_id,
        cast(deal_id as {{ dbt.type_string() }}) as deal_id,

        ---------- text
        properties__name as line_item_name,
        nullif(trim({{ dbt.split_part('properties__name', "' - '", 2) }}), '') as role_name,

        ---------- numerics
        cast(properties__quantity as decimal(18, 4)) as quantity,
        cast(properties__price as decimal(18, 2)) as unit_price_amount,
        cast(properties__amount as decimal(18, 2)) as line_amount,
        upper(trim(properties__hs_line_item_currency_code)) as line_currency,

        ---------- dates
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at,

        ---------- flags
        coalesce(archived, false) as is_archived

    from source

),

final as (

    select
        line_item_id,
        deal_id,
        line_item_name,
        role_name,
        lower(replace(role_name, ' ', '_')) as role_key,
        quantity,
        unit_price_amount,
        line_amount,
        line_currency,
        created_at,
        updated_at,
        is_archived
    from renamed

)

select * from final
