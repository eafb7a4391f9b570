{#-
    Daily exchange rates from the ERP, one row per currency and day. NetSuite's exchangerate is
    how many units of the base currency (basecurrency, USD in the sandbox) one unit of the
    transaction currency buys, so here: amount in to_currency = amount in from_currency x
    exchange_rate. The base currency itself has no row (its rate to itself is 1), and nothing
    here is inverted or filled in for missing days: that is the FX model's job.
-#}

with

source as (

    {{ latest_by_key(source('netsuite', 'currency_rates'), 'id') }}

),

renamed as (

    select

        ---------- ids
        cast(id as bigint) as currency_rate_id,

        ---------- text
        upper(transactioncurrency) as from_currency,
        upper(basecurrency) as to_currency,

        ---------- numerics
        cast(exchangerate as decimal(18, 8)) as exchange_rate,

        ---------- dates
        cast(effectivedate as date) as rate_on,
        cast(lastmodifieddate as timestamp with time zone) at time zone 'UTC' as updated_at

    from source

)

select * from renamed
