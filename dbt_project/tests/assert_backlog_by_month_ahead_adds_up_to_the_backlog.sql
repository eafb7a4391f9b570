{#- Today's backlog laid out over the months ahead must be today's backlog: per project, the
    months' scheduled amounts plus the unscheduled part equal backlog_monthly's backlog for the
    as-of month, and the scheduled part its scheduled backlog, to the cent. Rows returned =
    projects where they do not. -#}

with

ahead as (

    select
        project_code,
        sum(scheduled_amount) as scheduled_amount,
        max(unscheduled_backlog_amount) as unscheduled_amount
    from {{ ref('backlog_by_month_ahead') }}
    group by 1

),

as_of_backlog as (

    select project_code, backlog_amount, scheduled_backlog_amount
    from {{ ref('backlog_monthly') }}
    where is_as_of_month and backlog_amount > 0

)

select
    as_of_backlog.project_code,
    as_of_backlog.backlog_amount,
    as_of_backlog.scheduled_backlog_amount,
    ahead.scheduled_amount,
    ahead.unscheduled_amount
from as_of_backlog
left join ahead on ahead.project_code = as_of_backlog.project_code
where ahead.project_code is null
    or ahead.scheduled_amount <> as_of_backlog.scheduled_backlog_amount
    or ahead.scheduled_amount + ahead.unscheduled_amount <> as_of_backlog.backlog_amount
