{#-
    The one place currencies meet: for every currency the ERP quotes and every day from its
    first quote on, how many units of the reporting currency (var `reporting_currency`) one
    unit buys. Every *_reporting_amount in the warehouse is an amount times this rate on the
    amount's day.

    The ERP quotes each currency against its base currency (NetSuite's currencyrate: base units
    per unit). A day without a quote takes the latest earlier one (weekends, holidays, days
    after the last load). When the reporting currency is not the base, the rate is the cross
    rate of the two quotes in force that day, rounded to 8 places. The days run on past the later
    of the last quote and today by `fx_forward_days` (about three years by default: planned
    milestones, contract ends), at the latest quote, so dated plans convert too.

    The reporting currency is worth one of itself on every day, quoted or not: an ERP with no
    quotes yet (a new tenant) still reports amounts in its own currency; from `fx_calendar_start`
    (2000-01-01) when there is no quote at all.
-#}

{%- set reporting_currency = var('reporting_currency') | upper %}
{%- set today = 'cast(' ~ dbt.current_timestamp() ~ ' as date)' %}
{%- set forward_days = var('fx_forward_days', 1100) | int %}
{%- set calendar_start = "cast('" ~ var('fx_calendar_start', '2000-01-01') ~ "' as date)" %}

with

currency_rates as (

    select * from {{ ref('stg_netsuite__currency_rates') }}

),

quotes as (

    -- one quote per currency and day: the latest loaded if the ERP ever holds two
    select
        currency,
        base_currency,
        exchange_rate,
        effective_on
    from (
        select
            from_currency as currency,
            to_currency as base_currency,
            exchange_rate,
            rate_on as effective_on,
            row_number() over (
                partition by from_currency, rate_on
                order by currency_rate_id desc
            ) as quote_rank
        from currency_rates
        where from_currency <> to_currency
    ) as ranked
    where quote_rank = 1

),

base_quotes as (

    -- the base currency is worth one base unit from the first quote on
    select
        base_currency as currency,
        base_currency,
        cast(1 as decimal(18, 8)) as exchange_rate,
        min(effective_on) as effective_on
    from quotes
    group by base_currency

),

quote_spans as (

    select
        currency,
        base_currency,
        exchange_rate,
        effective_on,
        lead(effective_on) over (partition by currency order by effective_on) as superseded_on
    from (
        select * from quotes
        union all
        select * from base_quotes
    ) as all_quotes

),

calendar_bounds as (

    select
        coalesce(min(effective_on), {{ calendar_start }}) as first_on,
        {{ dbt.datediff(
            'coalesce(min(effective_on), ' ~ calendar_start ~ ')',
            'greatest(coalesce(max(effective_on), ' ~ today ~ '), ' ~ today ~ ')',
            'day',
        ) }} + {{ forward_days }} as day_count
    from quote_spans

),

digits as (

    select 0 as digit union all select 1 union all select 2 union all select 3
    union all select 4 union all select 5 union all select 6 union all select 7
    union all select 8 union all select 9

),

day_numbers as (

    -- 0 .. 99,999: some 270 years of days, without a generator function Postgres and DuckDB
    -- spell differently
    select
        ones.digit
        + 10 * tens.digit
        + 100 * hundreds.digit
        + 1000 * thousands.digit
        + 10000 * ten_thousands.digit as day_number
    from digits as ones
    cross join digits as tens
    cross join digits as hundreds
    cross join digits as thousands
    cross join digits as ten_thousands

),

calendar as (

    select
        cast({{ dbt.dateadd('day', 'day_numbers.day_number', 'calendar_bounds.first_on') }} as date)
            as rate_on
    from calendar_bounds
    inner join day_numbers on day_numbers.day_number <= calendar_bounds.day_count

),

rates_to_base as (

    select
        calendar.rate_on,
        quote_spans.currency,
        quote_spans.base_currency,
        quote_spans.exchange_rate,
        case
            when quote_spans.currency = quote_spans.base_currency then calendar.rate_on
            else quote_spans.effective_on
        end as quoted_on
    from calendar
    inner join quote_spans
        on calendar.rate_on >= quote_spans.effective_on
        and (quote_spans.superseded_on is null or calendar.rate_on < quote_spans.superseded_on)

),

reporting as (

    select * from rates_to_base
    where currency = '{{ reporting_currency }}'

),

unquoted_reporting_days as (

    -- the days the reporting currency has no quote of its own (none at all, or before its first)
    select calendar.rate_on
    from calendar
    left join reporting on reporting.rate_on = calendar.rate_on
    where reporting.rate_on is null

),

converted as (

    select

        ---------- ids
        {{ dbt.concat(['rates_to_base.currency', "'-'", dbt.safe_cast('rates_to_base.rate_on', dbt.type_string())]) }}
            as fx_rate_id,
        rates_to_base.rate_on,
        rates_to_base.currency,
        reporting.currency as reporting_currency,

        ---------- numerics
        cast(
            case
                when rates_to_base.currency = reporting.currency then 1
                when reporting.currency = reporting.base_currency then rates_to_base.exchange_rate
                else rates_to_base.exchange_rate / reporting.exchange_rate
            end
            as decimal(18, 8)
        ) as fx_rate,

        ---------- dates
        -- the older of the two quotes the rate rests on (the base currency needs none)
        case
            when rates_to_base.currency = reporting.currency then rates_to_base.rate_on
            else least(rates_to_base.quoted_on, reporting.quoted_on)
        end as quoted_on,

        ---------- flags
        rates_to_base.currency <> reporting.currency
        and least(rates_to_base.quoted_on, reporting.quoted_on) < rates_to_base.rate_on
            as is_carried_forward

    from rates_to_base
    inner join reporting
        on reporting.rate_on = rates_to_base.rate_on
        and reporting.base_currency = rates_to_base.base_currency

),

reporting_itself as (

    select
        {{ dbt.concat(["'" ~ reporting_currency ~ "'", "'-'", dbt.safe_cast('rate_on', dbt.type_string())]) }}
            as fx_rate_id,
        rate_on,
        '{{ reporting_currency }}' as currency,
        '{{ reporting_currency }}' as reporting_currency,
        cast(1 as decimal(18, 8)) as fx_rate,
        rate_on as quoted_on,
        false as is_carried_forward
    from unquoted_reporting_days

),

final as (

    select * from converted
    union all
    select * from reporting_itself

)

select * from final
