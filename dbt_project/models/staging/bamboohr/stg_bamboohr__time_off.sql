{#-
    BambooHR time-off requests, one row per request, its status and type flattened. Both dates
    are included. The requested amount is in days or hours (amount_unit), what BambooHR counts
    the request takes off (weekends and holidays take none); capacity models count the working
    days between starts_on and ends_on themselves. BambooHR stamps a request with dates only
    (created, status.lastChanged, in the company's time zone): requested_at and
    status_changed_at are those days at midnight.
-#}

with

source as (

    {{ latest_by_key(source('bamboohr', 'time_off'), 'id', 'status__last_changed desc, _dlt_load_id desc') }}

),

renamed as (

    select

        ----------  ids
        cast(id as bigint) as time_off_request_id,
        cast(employee_id as bigint) as employee_id,
        cast(type__id as bigint) as time_off_type_id,

        ---------- text
        type__name as time_off_type,
        status__status as request_status,
        amount__unit as amount_unit,

        ---------- numerics
        cast(amount__amount as decimal(18, 4)) as requested_amount,
        cast(
            case when amount__unit = 'days' then amount__amount end as decimal(18, 4)
        ) as requested_days,
        cast(
            case when amount__unit = 'hours' then amount__amount end as decimal(18, 4)
        ) as requested_hours,

        ---------- dates
        cast("start" as date) as starts_on,
        cast("end" as date) as ends_on,
        cast(created as {{ dbt.type_timestamp() }}) as requested_at,
        cast(status__last_changed as {{ dbt.type_timestamp() }}) as status_changed_at,

        ---------- flags
        status__status = 'approved' as is_approved

    from source

)

select * from renamed
