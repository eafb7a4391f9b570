{#-
    Project identity: one row per project code any system knows, with the record each system
    holds for it. The code is the firm's cross-system key: the CRM deal's psa_project_code and
    the contract's project_code, the first word of the Kantata workspace's title, the Harvest
    project's code and the ERP job's entity id. A code is compared exactly as staging holds it.
    Where a system holds more than one record for a code, the oldest is taken and the count kept.

    match_status:
      complete        the CRM deal, its contract, the PSA workspace, the Harvest project and the
                      ERP job all carry the code
      awaiting_setup  a won deal whose PSA workspace or Harvest project is still missing while
                      the project has not started yet (as of the newest record in the
                      warehouse): not an issue yet
      not_set_up      a won deal known to no delivery system (no workspace, Harvest project or
                      ERP job): never set up, so never worked or invoiced
      partial         any other code the CRM knows that some system lacks
      unmapped_code   a code only Harvest knows: time booked to it reaches no invoice
      unknown_to_crm  a code some system other than Harvest alone knows and the CRM does not
    match_confidence: 1.00 the code is shared and every cross-reference filled in agrees (the
    ERP job's external id and the contract's deal name the code's deal); 0.50 the code is
    shared but a cross-reference names another deal; 0.00 the code is known to one system only.
-#}

with

deals as (

    select * from {{ ref('stg_hubspot__deals') }}

),

contract_versions as (

    select * from {{ ref('stg_hubspot__contract_versions') }}

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

deal_codes as (

    select
        project_code,
        deal_id,
        closed_on,
        is_won,
        created_at,
        updated_at,
        row_number() over (
            partition by project_code order by created_at, deal_id
        ) as record_rank,
        count(*) over (partition by project_code) as record_count
    from deals
    where project_code is not null

),

contract_ranked as (

    select
        project_code,
        contract_number,
        deal_id,
        effective_on,
        row_number() over (
            partition by project_code order by version_number, contract_version_id
        ) as record_rank,
        dense_rank() over (partition by project_code order by contract_number) as contract_rank
    from contract_versions
    where project_code is not null

),

contract_codes as (

    select
        *,
        max(contract_rank) over (partition by project_code) as record_count
    from contract_ranked

),

workspace_codes as (

    select
        project_code,
        workspace_id,
        starts_on,
        created_at,
        updated_at,
        row_number() over (
            partition by project_code order by created_at, workspace_id
        ) as record_rank,
        count(*) over (partition by project_code) as record_count
    from workspaces
    where project_code is not null

),

harvest_codes as (

    select
        project_code,
        harvest_project_id,
        harvest_client_id,
        project_name,
        starts_on,
        ends_on,
        created_at,
        updated_at,
        row_number() over (
            partition by project_code order by created_at, harvest_project_id
        ) as record_rank,
        count(*) over (partition by project_code) as record_count
    from harvest_projects
    where project_code is not null

),

job_codes as (

    select
        project_code,
        erp_job_id,
        erp_customer_id,
        cast(crm_deal_id as {{ dbt.type_string() }}) as crm_deal_id,
        created_at,
        updated_at,
        row_number() over (
            partition by project_code order by created_at, erp_job_id
        ) as record_rank,
        count(*) over (partition by project_code) as record_count
    from erp_jobs
    where project_code is not null

),

codes as (

    select project_code from deal_codes
    union
    select project_code from contract_codes
    union
    select project_code from workspace_codes
    union
    select project_code from harvest_codes
    union
    select project_code from job_codes

),

as_of as (

    select cast(max(updated_at) as date) as as_of_on
    from (
        select updated_at from deal_codes
        union all
        select updated_at from workspace_codes
        union all
        select updated_at from harvest_codes
        union all
        select updated_at from job_codes
    ) as stamps

),

{#-
    a code only Harvest knows, beside a project the CRM knows with the same client, name and
    dates: the code the time was probably meant for
-#}
probable as (

    select
        stray.project_code,
        min(known.project_code) as probable_project_code,
        count(distinct known.project_code) as probable_count
    from harvest_codes as stray
    inner join harvest_codes as known
        on stray.harvest_client_id = known.harvest_client_id
        and stray.project_name = known.project_name
        and stray.starts_on = known.starts_on
        and stray.ends_on = known.ends_on
        and stray.project_code <> known.project_code
    inner join deal_codes on known.project_code = deal_codes.project_code
    group by 1

),

joined as (

    select
        codes.project_code,
        d.deal_id as crm_deal_id,
        d.is_won,
        d.closed_on as deal_closed_on,
        d.created_at as crm_deal_created_at,
        w.created_at as psa_workspace_created_at,
        w.starts_on as psa_workspace_starts_on,
        h.created_at as harvest_project_created_at,
        j.created_at as erp_job_created_at,
        c.contract_number,
        c.deal_id as contract_deal_id,
        c.effective_on as contract_starts_on,
        w.workspace_id as psa_workspace_id,
        h.harvest_project_id,
        h.harvest_client_id,
        j.erp_job_id,
        j.erp_customer_id,
        j.crm_deal_id as erp_job_deal_id,
        coalesce(d.record_count, 0) as crm_deal_count,
        coalesce(c.record_count, 0) as contract_count,
        coalesce(w.record_count, 0) as psa_workspace_count,
        coalesce(h.record_count, 0) as harvest_project_count,
        coalesce(j.record_count, 0) as erp_job_count,
        case
            when d.deal_id is null and probable.probable_count = 1
                then probable.probable_project_code
        end as probable_project_code,
        as_of.as_of_on
    from codes
    cross join as_of
    left join deal_codes as d on codes.project_code = d.project_code and d.record_rank = 1
    left join contract_codes as c on codes.project_code = c.project_code and c.record_rank = 1
    left join workspace_codes as w on codes.project_code = w.project_code and w.record_rank = 1
    left join harvest_codes as h on codes.project_code = h.project_code and h.record_rank = 1
    left join job_codes as j on codes.project_code = j.project_code and j.record_rank = 1
    left join probable on codes.project_code = probable.project_code

),

flagged as (

    select
        *,
        crm_deal_id is not null as is_in_crm,
        contract_number is not null as has_contract,
        psa_workspace_id is not null as is_in_psa,
        harvest_project_id is not null as is_in_harvest,
        erp_job_id is not null as is_in_erp,
        (erp_job_deal_id is not null and crm_deal_id is not null and erp_job_deal_id <> crm_deal_id)
        or (
            contract_deal_id is not null and crm_deal_id is not null
            and contract_deal_id <> crm_deal_id
        ) as has_deal_conflict,
        crm_deal_count > 1 or contract_count > 1 or psa_workspace_count > 1
        or harvest_project_count > 1 or erp_job_count > 1 as has_duplicate_record
    from joined

),

statused as (

    select
        *,
        (case when is_in_crm then 1 else 0 end)
        + (case when is_in_psa then 1 else 0 end)
        + (case when is_in_harvest then 1 else 0 end)
        + (case when is_in_erp then 1 else 0 end) as system_count,
        case
            when is_in_crm and has_contract and is_in_psa and is_in_harvest and is_in_erp
                then 'complete'
            when is_in_crm and is_won and not is_in_psa and not is_in_harvest and not is_in_erp
                then 'not_set_up'
            when
                is_in_crm and has_contract and is_in_erp
                and contract_starts_on > as_of_on
                then 'awaiting_setup'
            when is_in_crm then 'partial'
            when is_in_harvest and not is_in_psa and not is_in_erp and not has_contract
                then 'unmapped_code'
            else 'unknown_to_crm'
        end as match_status
    from flagged

),

final as (

    select

        ---------- ids
        project_code,
        crm_deal_id,
        contract_number,
        psa_workspace_id,
        harvest_project_id,
        harvest_client_id,
        erp_job_id,
        erp_customer_id,
        erp_job_deal_id,
        probable_project_code,

        ---------- text
        match_status,
        'project_code' as match_method,

        ---------- numerics
        cast(case
            when system_count + (case when has_contract and not is_in_crm then 1 else 0 end) <= 1
                then 0
            when has_deal_conflict then 0.5
            else 1
        end as decimal(3, 2)) as match_confidence,
        system_count,
        crm_deal_count,
        contract_count,
        psa_workspace_count,
        harvest_project_count,
        erp_job_count,

        ---------- dates
        deal_closed_on,
        contract_starts_on,
        psa_workspace_starts_on,
        as_of_on,
        crm_deal_created_at,
        psa_workspace_created_at,
        harvest_project_created_at,
        erp_job_created_at,

        ---------- flags
        coalesce(is_won, false) as is_won,
        is_in_crm,
        has_contract,
        is_in_psa,
        is_in_harvest,
        is_in_erp,
        has_deal_conflict,
        has_duplicate_record,
        match_status not in ('complete', 'awaiting_setup') or has_deal_conflict
        or has_duplicate_record as needs_review

    from statused

)

select * from final
