{#-
    ERP invoices (SuiteQL transaction of type CustInvc), one row per invoice. The firm's own
    invoices go out on the 15th for the month before, one per project; the reverse sync's
    corrections arrive as drafts (pendingApproval) with an external id.
-#}

with

source as (

    {{ latest_by_key(source('netsuite', 'invoices'), 'id') }}

),

renamed as (

    select

        ---------- ids
        cast(id as bigint) as invoice_id,
        tranid as invoice_number,
        externalid as external_id,
        cast(entity as bigint) as erp_customer_id,
        nullif(trim(custbody_project_code), '') as project_code,

        ---------- text
        status as invoice_status,
        memo,

        ---------- numerics
        cast(foreigntotal as decimal(18, 2)) as total_amount,
        upper(currency) as total_currency,

        ---------- dates
        cast(trandate as date) as invoiced_on,
        cast(createddate as timestamp with time zone) at time zone 'UTC' as created_at,
        cast(lastmodifieddate as timestamp with time zone) at time zone 'UTC' as updated_at,

        ---------- flags
        status = 'pendingApproval' as is_draft,
        status = 'paidInFull' as is_paid_in_full

    from source

)

select * from renamed
