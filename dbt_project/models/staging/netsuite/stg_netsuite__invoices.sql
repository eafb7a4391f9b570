with

source as (

    select * from {{ source('netsuite', 'invoices') }}

),

renamed as (

    select

        ----------  ids
        cast(id as bigint) as invoice_id,
        tranid as invoice_number,
        externalid as external_id,
        cast(entity as bigint) as erp_customer_id,
        custbody_project_code as project_code,

        ---------- text
        status as invoice_status,
        memo,

        ---------- numerics
        cast(foreigntotal as decimal(18, 2)) as total_amount,
        upper(currency) as total_currency,

        ---------- dates
        cast(trandate as date) as invoiced_on,
        cast(createddate as {{ dbt.type_timestamp() }}) as created_at,
        cast(lastmodifieddate as {{ dbt.type_timestamp() }}) as updated_at,

        ---------- flags
        status = 'pendingApproval' as is_draft

    from source

)

select * from renamed
