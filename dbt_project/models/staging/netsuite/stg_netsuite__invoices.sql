{#-
    ERP invoices (SuiteQL transaction of type CustInvc), one row per invoice. The firm's own
    invoices go out on the 15th for the month before, one per project; the reverse sync's
    corrections arrive as drafts (pending approval) with an external id. SuiteQL gives the
    status as NetSuite's letter (CustInvc A open, B paid in full, D pending approval, E
    rejected) and the currency as an internal id; here they are words and an ISO code.
-#}

with

source as (

    {{ latest_by_key(source('netsuite', 'invoices'), 'id') }}

),

currencies as (

    select * from {{ ref('stg_netsuite__currencies') }}

),

renamed as (

    select

        ---------- ids
        cast(source.id as bigint) as invoice_id,
        source.tranid as invoice_number,
        source.externalid as external_id,
        cast(source.entity as bigint) as erp_customer_id,
        nullif(trim(source.custbody_project_code), '') as project_code,

        ---------- text
        case source.status
            when 'A' then 'open'
            when 'B' then 'paidInFull'
            when 'D' then 'pendingApproval'
            when 'E' then 'rejected'
            else source.status
        end as invoice_status,
        source.memo,

        ---------- numerics
        cast(source.foreigntotal as decimal(18, 2)) as total_amount,
        currencies.currency_code as total_currency,

        ---------- dates
        cast(source.trandate as date) as invoiced_on,
        cast(source.createddate as timestamp with time zone) at time zone 'UTC' as created_at,
        cast(source.lastmodifieddate as timestamp with time zone) at time zone 'UTC' as updated_at,

        ---------- flags
        source.status = 'D' as is_draft,
        source.status = 'B' as is_paid_in_full

    from source
    left join currencies on currencies.currency_id = cast(source.currency as bigint)

)

select * from renamed
