{#-
    BambooHR compensation table, one row per pay change: the employee's hourly cost rate from
    its start date, in the employing entity's currency. A rate is in force from effective_on
    until the employee's next change (`superseded_on`, exclusive). Only hourly pay is a cost
    rate as it stands; a salaried row would need a conversion rule (the pay_type test says so).
-#}

with

source as (

    {{ latest_by_key(source('bamboohr', 'compensation'), 'id', 'table_last_changed desc, _dlt_load_id desc') }}

),

renamed as (

    select

        ----------  ids
        cast(id as bigint) as compensation_id,
        cast(employee_id as bigint) as employee_id,

        ---------- text
        type as pay_type,
        reason as change_reason,

        ---------- numerics
        cast(rate__value as decimal(18, 2)) as cost_rate_amount,
        upper(trim(rate__currency)) as cost_rate_currency,

        ---------- dates
        cast(start_date as date) as effective_on,
        lead(cast(start_date as date)) over (
            partition by employee_id
            order by cast(start_date as date), cast(id as bigint)
        ) as superseded_on,
        cast(table_last_changed as {{ dbt.type_timestamp() }}) as table_changed_at

    from source

)

select
    *,
    superseded_on is null as is_current
from renamed
