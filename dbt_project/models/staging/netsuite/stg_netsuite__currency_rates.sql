{#-
    Daily exchange rates from the ERP, one row per currency and day. NetSuite's exchangerate is
    how many units of the base currency (basecurrency, USD in the sandbox) one unit of the
    transaction currency buys, so here: amount in to_currency = amount in from_currency x
    exchange_rate. The base currency itself has no row (its rate to itself is 1), and nothing
    here is inverted or filled in for missing days: that is the FX model's job. Both currencies
    are internal ids in SuiteQL; here their ISO codes.
-#}

with

source as (

    {{ latest_by_key(source('netsuite', 'currency_rates'), 'id') }}

),

currencies as (

    select * from {{ ref('stg_netsuite__currencies') }}

),

renamed as (

    select

        ---------- ids
        cast(source.id as bigint) as currency_rate_id,

        ---------- text
        from_currencies.currency_code as from_currency,
        to_currencies.currency_code as to_currency,

        ---------- numerics
        cast(source.exchangerate as decimal(18, 8)) as exchange_rate,

        ---------- dates
        cast(source.effectivedate as date) as rate_on,
        cast(source.lastmodifieddate as timestamp with time zone) at time zone 'UTC' as updated_at

    from source
    left join currencies as from_currencies
        on from_currencies.currency_id = cast(source.transactioncurrency as bigint)
    left join currencies as to_currencies
        on to_currencies.currency_id = cast(source.basecurrency as bigint)

)

select * from renamed
