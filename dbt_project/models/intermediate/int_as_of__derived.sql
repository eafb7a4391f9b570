{#-
    The warehouse's "today", one row: the date every as-of figure is taken at (WIP aging, the
    backlog split into scheduled and unscheduled, the month-end close rule, utilization of the
    current month). It is the dbt var `as_of` when one is given (a date, 'YYYY-MM-DD'), else
    the latest day the data show activity on: time or expenses spent, invoices, credit memos or
    payments dated. Never the wall clock: a build of the same data gives the same figures
    whenever it runs.

    The close rule lives here too. A month is closed once the billing run has invoiced it on or
    before the as-of date (the sandbox invoices month M on the 15th of M + 1;
    int_billing_months__invoiced); closed_through_month is the latest such month, and every
    month up to it is closed (a month in which no project ran closes with the next one).
    The var moves the reference date only; it does not hide records dated after it.
-#}

{%- set as_of = var('as_of', none) %}

with

time_entries as (

    select max(spent_on) as last_on from {{ ref('stg_harvest__time_entries') }}

),

expenses as (

    select max(spent_on) as last_on from {{ ref('stg_harvest__expenses') }}

),

invoices as (

    select max(invoiced_on) as last_on from {{ ref('stg_netsuite__invoices') }}

),

credit_memos as (

    select max(credited_on) as last_on from {{ ref('stg_netsuite__credit_memos') }}

),

payments as (

    select max(paid_on) as last_on from {{ ref('stg_netsuite__payments') }}

),

billing_months as (

    select * from {{ ref('int_billing_months__invoiced') }}

),

latest_activity as (

    select
        cast(
            greatest(
                coalesce(time_entries.last_on, cast('1900-01-01' as date)),
                coalesce(expenses.last_on, cast('1900-01-01' as date)),
                coalesce(invoices.last_on, cast('1900-01-01' as date)),
                coalesce(credit_memos.last_on, cast('1900-01-01' as date)),
                coalesce(payments.last_on, cast('1900-01-01' as date))
            ) as date
        ) as last_activity_on
    from time_entries
    cross join expenses
    cross join invoices
    cross join credit_memos
    cross join payments

),

as_of as (

    select
        {% if as_of %}
        cast('{{ as_of }}' as date) as as_of_on,
        'var' as as_of_source,
        {% else %}
        last_activity_on as as_of_on,
        'latest_activity' as as_of_source,
        {% endif %}
        last_activity_on
    from latest_activity

),

closed as (

    select max(billing_months.billing_month) as closed_through_month
    from billing_months
    cross join as_of
    where billing_months.first_invoiced_on <= as_of.as_of_on

),

final as (

    select

        ---------- text
        as_of.as_of_source,

        ---------- dates
        as_of.as_of_on,
        cast({{ dbt.date_trunc('month', 'as_of.as_of_on') }} as date) as as_of_month,
        as_of.last_activity_on,
        closed.closed_through_month

    from as_of
    cross join closed

)

select * from final
