{#-
    One row per contract version: the SOW as signed (version 1) and every amendment, each a
    version of its contract_number. A version is in force from valid_from (its effective date)
    up to, not including, valid_to (the next version's effective date); the latest version has
    no valid_to and is the current one. Before version 1's effective date (work started early)
    the signed terms are version 1's. Amounts and rates are in contract_currency; rates are
    hourly bill rates per role.
-#}

with

contract_versions as (

    select * from {{ ref('stg_hubspot__contract_versions') }}

),

deal_companies as (

    select * from {{ ref('stg_hubspot__deal_companies') }}

),

deal_customers as (

    select deal_id, min(company_id) as customer_id
    from deal_companies
    group by 1

),

final as (

    select

        ---------- ids
        contract_versions.contract_version_id,
        contract_versions.contract_number,
        contract_versions.version_number,
        contract_versions.deal_id as crm_deal_id,
        contract_versions.project_code,
        deal_customers.customer_id,

        ---------- text
        contract_versions.billing_model,
        contract_versions.contract_status,
        contract_versions.amendment_reason,

        ---------- numerics
        contract_versions.contract_value_amount,
        contract_versions.monthly_fee_amount,
        contract_versions.analyst_rate_amount,
        contract_versions.consultant_rate_amount,
        contract_versions.senior_consultant_rate_amount,
        contract_versions.manager_rate_amount,
        contract_versions.partner_rate_amount,
        contract_versions.contract_currency,

        ---------- dates
        contract_versions.effective_on as valid_from,
        contract_versions.superseded_on as valid_to,
        contract_versions.contract_ends_on,
        contract_versions.signed_on,

        ---------- flags
        contract_versions.superseded_on is null as is_current,
        contract_versions.version_number = 1 as is_original,
        contract_versions.is_archived

    from contract_versions
    left join deal_customers on contract_versions.deal_id = deal_customers.deal_id

)

select * from final
