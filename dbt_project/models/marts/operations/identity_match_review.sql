{#-
    The identity review list: one row per record and issue that identity resolution would not
    settle on its own (int_customers__matched, int_resources__matched, int_projects__matched).
    Nothing listed here was merged silently: a conflicting or duplicate record is linked to the
    canonical record its strongest evidence names (canonical_id) and listed; an ambiguous or
    unmatched one is linked to nothing and listed.

    issue, by entity:
      customer, resource  external_id_conflict  the ERP customer's external id names another (or
                                                no) CRM company than its other evidence
                          conflicting_evidence  evidence points at more than one record
                          duplicate_record      a second record of one system for the same
                                                canonical record (duplicate_of in related_ids)
                          ambiguous             candidates tie: nothing chosen
                          unmatched             no candidate at all
      project             not_set_up            a won deal no delivery system knows
                          partial               a deal some delivery system lacks (past start)
                          unmapped_code         a code only Harvest knows (probable code in
                                                related_ids when one is evident)
                          unknown_to_crm        a code the CRM does not know
                          deal_conflict         the ERP job's external id names another deal
                          duplicate_record      a system holds the code more than once
-#}

with

customers as (

    select * from {{ ref('int_customers__matched') }}
    where needs_review

),

resources as (

    select * from {{ ref('int_resources__matched') }}
    where needs_review

),

projects as (

    select * from {{ ref('int_projects__matched') }}
    where needs_review

),

customer_issues as (

    select
        'customer' as entity,
        'external_id_conflict' as issue,
        source_system,
        source_record_id,
        source_name,
        crm_company_id as canonical_id,
        referenced_crm_company_id as related_ids,
        match_method,
        match_confidence,
        created_at
    from customers
    where has_external_id_conflict

    union all

    select
        'customer' as entity,
        case match_status
            when 'conflict' then 'conflicting_evidence'
            else match_status
        end as issue,
        source_system,
        source_record_id,
        source_name,
        crm_company_id as canonical_id,
        other_crm_company_ids as related_ids,
        match_method,
        match_confidence,
        created_at
    from customers
    where match_status in ('ambiguous', 'unmatched')
        or (match_status = 'conflict' and not has_external_id_conflict)

    union all

    select
        'customer' as entity,
        'duplicate_record' as issue,
        source_system,
        source_record_id,
        source_name,
        crm_company_id as canonical_id,
        duplicate_of_record_id as related_ids,
        match_method,
        match_confidence,
        created_at
    from customers
    where is_duplicate

),

resource_issues as (

    select
        'resource' as entity,
        case match_status
            when 'conflict' then 'conflicting_evidence'
            else match_status
        end as issue,
        source_system,
        source_record_id,
        source_name,
        cast(employee_id as {{ dbt.type_string() }}) as canonical_id,
        other_employee_ids as related_ids,
        match_method,
        match_confidence,
        created_at
    from resources
    where match_status <> 'matched'

    union all

    select
        'resource' as entity,
        'duplicate_record' as issue,
        source_system,
        source_record_id,
        source_name,
        cast(employee_id as {{ dbt.type_string() }}) as canonical_id,
        duplicate_of_record_id as related_ids,
        match_method,
        match_confidence,
        created_at
    from resources
    where is_duplicate

),

project_records as (

    {#- each project issue, on the record of the system where it shows -#}
    select
        project_code,
        case
            when match_status in ('not_set_up', 'partial') then 'hubspot'
            when match_status = 'unmapped_code' then 'harvest'
            when is_in_psa then 'kantata'
            when is_in_erp then 'netsuite'
            else 'harvest'
        end as source_system,
        case
            when match_status in ('not_set_up', 'partial') then crm_deal_id
            when match_status = 'unmapped_code'
                then cast(harvest_project_id as {{ dbt.type_string() }})
            when is_in_psa then cast(psa_workspace_id as {{ dbt.type_string() }})
            when is_in_erp then cast(erp_job_id as {{ dbt.type_string() }})
            else cast(harvest_project_id as {{ dbt.type_string() }})
        end as source_record_id,
        match_status as issue,
        case
            when match_status = 'unmapped_code' then probable_project_code
            when match_status in ('not_set_up', 'partial') then contract_number
        end as related_ids,
        match_method,
        match_confidence,
        case
            when match_status in ('not_set_up', 'partial') then crm_deal_created_at
            when match_status = 'unmapped_code' then harvest_project_created_at
            else coalesce(psa_workspace_created_at, erp_job_created_at, harvest_project_created_at)
        end as created_at
    from projects
    where match_status not in ('complete', 'awaiting_setup')

    union all

    select
        project_code,
        'netsuite' as source_system,
        cast(erp_job_id as {{ dbt.type_string() }}) as source_record_id,
        'deal_conflict' as issue,
        erp_job_deal_id as related_ids,
        match_method,
        match_confidence,
        erp_job_created_at as created_at
    from projects
    where has_deal_conflict

    {%- for system, count_column, id_column, created_column in [
        ('hubspot', 'crm_deal_count', 'crm_deal_id', 'crm_deal_created_at'),
        ('kantata', 'psa_workspace_count', 'psa_workspace_id', 'psa_workspace_created_at'),
        ('harvest', 'harvest_project_count', 'harvest_project_id', 'harvest_project_created_at'),
        ('netsuite', 'erp_job_count', 'erp_job_id', 'erp_job_created_at'),
    ] %}

    union all

    select
        project_code,
        '{{ system }}' as source_system,
        cast({{ id_column }} as {{ dbt.type_string() }}) as source_record_id,
        'duplicate_record' as issue,
        cast({{ count_column }} as {{ dbt.type_string() }}) as related_ids,
        match_method,
        match_confidence,
        {{ created_column }} as created_at
    from projects
    where {{ count_column }} > 1
    {%- endfor %}

),

project_issues as (

    select
        'project' as entity,
        issue,
        source_system,
        source_record_id,
        project_code as source_name,
        project_code as canonical_id,
        related_ids,
        match_method,
        match_confidence,
        created_at
    from project_records

),

issues as (

    select * from customer_issues
    union all
    select * from resource_issues
    union all
    select * from project_issues

),

final as (

    select

        ---------- ids
        {{ dbt.concat(['entity', "':'", 'issue', "':'", 'source_system', "':'", 'source_record_id']) }}
            as review_item_id,
        source_system,
        source_record_id,
        canonical_id,
        related_ids,

        ---------- text
        entity,
        issue,
        source_name,
        match_method,
        case issue
            when 'external_id_conflict'
                then 'its external id names CRM company ' || coalesce(related_ids, '?')
                    || '; the rest of its evidence points at ' || coalesce(canonical_id, 'none')
            when 'conflicting_evidence'
                then 'linked to ' || coalesce(canonical_id, 'none') || ', but evidence also names '
                    || coalesce(related_ids, '?')
            when 'duplicate_record'
                then case entity
                    when 'project' then 'the code is held ' || coalesce(related_ids, '?')
                        || ' times in ' || source_system
                    else 'a second ' || source_system || ' record for ' || coalesce(canonical_id, '?')
                        || ', beside ' || coalesce(related_ids, '?')
                end
            when 'ambiguous' then 'tied candidates: ' || coalesce(related_ids, '?')
            when 'unmatched' then 'no candidate found'
            when 'not_set_up' then 'won deal of ' || canonical_id
                || ' has no PSA workspace, Harvest project or ERP job'
            when 'partial' then 'deal of ' || canonical_id || ' is missing in some delivery system'
            when 'unmapped_code' then 'only Harvest knows ' || canonical_id
                || coalesce('; probably meant ' || related_ids, '')
            when 'unknown_to_crm' then 'the CRM has no deal for ' || canonical_id
            when 'deal_conflict' then 'the ERP job names deal ' || coalesce(related_ids, '?')
        end as review_detail,

        ---------- numerics
        match_confidence,

        ---------- dates
        cast(created_at as {{ dbt.type_timestamp() }}) as record_created_at

    from issues

)

select * from final
