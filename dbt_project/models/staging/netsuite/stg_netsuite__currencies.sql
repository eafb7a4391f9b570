{#-
    The ERP's currencies, one row per currency: SuiteQL gives every currency field (on
    transactions, customers, jobs, subsidiaries, rates) as this record's internal id, and the
    record's symbol is the ISO 4217 code. The other NetSuite staging models join here for codes.
-#}

with

source as (

    {{ latest_by_key(source('netsuite', 'currencies'), 'id') }}

),

renamed as (

    select

        ---------- ids
        cast(id as bigint) as currency_id,

        ---------- text
        upper(trim(symbol)) as currency_code,
        name as currency_name,

        ---------- flags
        isbasecurrency = 'T' as is_base_currency

    from source

)

select * from renamed
