{#-
    One row per project code any system knows (int_projects__matched), keyed by the code: the
    won deal's projects, and also the stray codes only Harvest knows (so every time entry has
    its project here; match_status says which is which). The customer is the deal's company;
    for a code the CRM does not know, the customer its ERP job or Harvest client resolves to.
    Billing model and contract value are the current contract version's; dates are the PSA's
    when it has the project, else the contract's, else Harvest's or the ERP's.

    The legal entity is the ERP subsidiary the project's ERP customer belongs to (the entity
    that invoices it; none before the project is in the ERP). The practice is the HR
    department whose people delivered most of the project's approved hours, the first by name
    on a tie; none before any approved time.
-#}

with

projects as (

    select * from {{ ref('int_projects__matched') }}

),

deals as (

    select * from {{ ref('stg_hubspot__deals') }}

),

deal_companies as (

    select * from {{ ref('stg_hubspot__deal_companies') }}

),

contracts as (

    select * from {{ ref('dim_contract') }}

),

workspaces as (

    select * from {{ ref('stg_kantata__workspaces') }}

),

harvest_projects as (

    select * from {{ ref('stg_harvest__projects') }}

),

erp_jobs as (

    select * from {{ ref('stg_netsuite__jobs') }}

),

customer_matches as (

    select * from {{ ref('int_customers__matched') }}

),

erp_customer_records as (

    select * from {{ ref('stg_netsuite__customers') }}

),

subsidiaries as (

    select * from {{ ref('stg_netsuite__subsidiaries') }}

),

time_entries as (

    select * from {{ ref('int_time_entries__rated') }}
    where is_approved

),

resources as (

    select * from {{ ref('dim_resource') }}

),

practice_hours as (

    select
        time_entries.project_code,
        resources.practice,
        sum(time_entries.hours) as approved_hours
    from time_entries
    inner join resources on resources.resource_id = time_entries.employee_id
    where time_entries.project_code is not null and resources.practice is not null
    group by 1, 2
    having sum(time_entries.hours) > 0

),

leading_practices as (

    select project_code, practice
    from (
        select
            project_code,
            practice,
            row_number() over (
                partition by project_code order by approved_hours desc, practice
            ) as practice_rank
        from practice_hours
    ) as ranked
    where practice_rank = 1

),

deal_customers as (

    select deal_id, min(company_id) as customer_id
    from deal_companies
    group by 1

),

current_contracts as (

    select
        *,
        row_number() over (
            partition by project_code order by is_current desc, version_number desc
        ) as contract_rank
    from contracts
    where project_code is not null

),

first_contracts as (

    select project_code, min(valid_from) as contract_starts_on
    from contracts
    where project_code is not null
    group by 1

),

erp_customers as (

    select * from customer_matches where source_system = 'netsuite'

),

harvest_clients as (

    select * from customer_matches where source_system = 'harvest'

),

final as (

    select

        ---------- ids
        projects.project_code,
        coalesce(
            deal_customers.customer_id,
            erp_customers.crm_company_id,
            harvest_clients.crm_company_id
        ) as customer_id,
        projects.crm_deal_id,
        projects.contract_number,
        current_contracts.contract_version_id as current_contract_version_id,
        projects.psa_workspace_id,
        projects.harvest_project_id,
        projects.erp_job_id,
        projects.erp_customer_id,
        erp_customer_records.erp_subsidiary_id,
        projects.harvest_client_id,
        projects.probable_project_code,

        ---------- text
        coalesce(
            workspaces.project_name, harvest_projects.project_name, deals.deal_name,
            erp_jobs.job_name
        ) as project_name,
        current_contracts.billing_model,
        coalesce(
            workspaces.workspace_status,
            case when erp_jobs.is_closed then 'Completed' end,
            case when erp_jobs.erp_job_id is not null then 'Active' end,
            case when projects.match_status = 'not_set_up' then 'Not set up' end
        ) as project_status,
        projects.match_status,
        case
            when deal_customers.customer_id is not null then 'crm_deal'
            when erp_customers.crm_company_id is not null then 'erp_customer'
            when harvest_clients.crm_company_id is not null then 'harvest_client'
            else 'none'
        end as customer_source,
        subsidiaries.subsidiary_name as legal_entity,
        leading_practices.practice,

        ---------- numerics
        deals.deal_amount as sold_amount,
        deals.deal_currency as sold_currency,
        current_contracts.contract_value_amount,
        current_contracts.contract_currency,
        coalesce(
            current_contracts.contract_currency, workspaces.workspace_currency,
            erp_jobs.job_currency, harvest_projects.billing_currency
        ) as project_currency,
        projects.match_confidence,

        ---------- dates
        projects.deal_closed_on,
        coalesce(
            workspaces.starts_on, first_contracts.contract_starts_on, harvest_projects.starts_on,
            erp_jobs.starts_on
        ) as starts_on,
        coalesce(
            workspaces.due_on, current_contracts.contract_ends_on, harvest_projects.ends_on,
            erp_jobs.projected_end_on
        ) as ends_on,
        workspaces.created_at as psa_created_at,
        erp_jobs.created_at as erp_created_at,

        ---------- flags
        projects.is_won,
        projects.is_in_crm,
        projects.has_contract,
        projects.is_in_psa,
        projects.is_in_harvest,
        projects.is_in_erp,
        coalesce(erp_customers.is_duplicate, false) as is_billed_to_duplicate_customer,
        projects.needs_review

    from projects
    left join deals on projects.crm_deal_id = deals.deal_id
    left join deal_customers on projects.crm_deal_id = deal_customers.deal_id
    left join current_contracts
        on projects.project_code = current_contracts.project_code
        and current_contracts.contract_rank = 1
    left join first_contracts on projects.project_code = first_contracts.project_code
    left join workspaces on projects.psa_workspace_id = workspaces.workspace_id
    left join harvest_projects on projects.harvest_project_id = harvest_projects.harvest_project_id
    left join erp_jobs on projects.erp_job_id = erp_jobs.erp_job_id
    left join erp_customers
        on cast(projects.erp_customer_id as {{ dbt.type_string() }}) = erp_customers.source_record_id
    left join harvest_clients
        on cast(projects.harvest_client_id as {{ dbt.type_string() }}) = harvest_clients.source_record_id
    left join erp_customer_records
        on projects.erp_customer_id = erp_customer_records.erp_customer_id
    left join subsidiaries
        on erp_customer_records.erp_subsidiary_id = subsidiaries.erp_subsidiary_id
    left join leading_practices on projects.project_code = leading_practices.project_code

)

select * from final
