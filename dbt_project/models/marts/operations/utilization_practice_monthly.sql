{#-
    Utilization per practice (HR department) and month: utilization_monthly's consultants
    added up. The ratio is of the sums (billable hours over available hours of the practice),
    not an average of the consultants' ratios.
-#}

with

utilization as (

    select * from {{ ref('utilization_monthly') }}

),

final as (

    select

        ---------- ids
        {{ dbt.concat([
            "coalesce(practice, '(none)')", "'-'",
            dbt.safe_cast('utilization_month', dbt.type_string()),
        ]) }} as practice_month_id,

        ---------- text
        coalesce(practice, '(none)') as practice,

        ---------- numerics
        cast(sum(case when available_hours > 0 then 1 else 0 end) as integer) as consultant_count,
        cast(sum(available_hours) as decimal(18, 4)) as available_hours,
        cast(sum(worked_hours) as decimal(18, 4)) as worked_hours,
        cast(sum(billable_hours) as decimal(18, 4)) as billable_hours,
        case when sum(available_hours) > 0
            then cast(sum(billable_hours) / sum(available_hours) as decimal(18, 4))
        end as utilization_ratio,

        ---------- dates
        utilization_month

    from utilization
    group by coalesce(practice, '(none)'), utilization_month

)

select * from final
