{#-
    BambooHR compensation table, one row per pay change: the employee's hourly cost rate from
    its start date, in the employing entity's currency. A rate is in force from effective_on
    until the employee's next change (`superseded_on`, exclusive). Only hourly pay is a cost
    rate as it stands; a salaried row would need a conversion rule (the pay_type test says so).

    BambooHR's changed-table call sends no row id and, for each changed employee, the whole
    table stamped with the employee's last change. So a row is its employee and start date
    (compensation_id is made of the two), and a row the employee's newest table no longer has
    was deleted or re-dated in BambooHR: only the rows of each employee's newest table count.
-#}

with

source as (

    {{ latest_by_key(
        source('bamboohr', 'compensation'),
        'employee_id, start_date',
        'last_changed desc, _dlt_load_id desc'
    ) }}

),

newest_tables as (

    select * from (
        select
            *,
            max(last_changed) over (partition by employee_id) as newest_table_changed
        from source
    ) as stamped
    where last_changed = newest_table_changed

),

renamed as (

    select

        ----------  ids
        cast(employee_id as bigint) * 100000
            + {{ dbt.datediff("cast('1900-01-01' as date)", "cast(start_date as date)", "day") }}
            as compensation_id,
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
            order by cast(start_date as date)
        ) as superseded_on,
        cast(last_changed as {{ dbt.type_timestamp() }}) as table_changed_at

    from newest_tables

)

select
    *,
    superseded_on is null as is_current
from renamed
