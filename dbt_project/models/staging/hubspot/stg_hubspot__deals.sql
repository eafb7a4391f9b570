with

source as (

    select * from {{ source('hubspot', 'deals') }}

),

renamed as (

    select

        ----------  ids
        cast(id as {{ dbt.type_string() }}) as deal_id,
        properties__psa_project_code as project_code,

        ---------- text
        properties__dealname as deal_name,
        properties__dealstage as deal_stage,
        properties__pipeline as pipeline,

        ---------- numerics
        cast(properties__amount as decimal(18, 2)) as deal_amount,
        upper(properties__deal_currency_code) as deal_currency,

        ---------- dates
        cast(properties__closedate as date) as closed_on,
        created_at,
        updated_at,

        ---------- flags
        properties__dealstage = 'closedwon' as is_won

    from source

)

select * from renamed
