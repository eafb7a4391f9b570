{#-
    Customer identity: each ERP customer and each Harvest client resolved to the CRM company it
    is (the CRM company id is the canonical customer id), with the evidence, a method and a
    confidence. One row per ERP customer and Harvest client.

    Evidence that a record is a CRM company, and its weight:
      external_id    3  the ERP customer's external id names the company (typed in by hand)
      crm_reference  3  the company's ERP customer field names this ERP customer
      project_code   3  a Harvest project of the client has the code of one of the company's
                        deals (codes are issued by the firm, so they are a cross-system key)
      name           2  equal normalised names (int_customers__normalized)
      domain         2  equal web domains
    The first three are keys, the last two descriptions. Every company with any evidence is a
    candidate; the candidate with the greatest total weight is chosen, unless two tie
    (`ambiguous`: nothing chosen). The choice is a `conflict`, kept but sent for review, when a
    key points at another company, when the record's own external id names another (or no)
    company, or when only other candidates share its name or domain. Two records of one system
    chosen for one company are both kept: the strongest (then the oldest) is the company's
    record, the others are flagged `is_duplicate` for review. Nothing is merged: the review
    mart (identity_match_review) lists every record with `needs_review`.

    match_confidence, what it means (the share of links made this way that are expected right):
      1.00  a key and a description agree, and nothing points elsewhere
      0.90  a key alone agrees (the names and domains differ, e.g. a renamed company)
      0.80  name and domain agree, no key (a cross-reference nobody typed in)
      0.60  name or domain alone
      0.50  conflict: the evidence points at more than one company; the heaviest was chosen
      0.00  ambiguous or unmatched: no company chosen
-#}

with

records as (

    select * from {{ ref('int_customers__normalized') }}

),

harvest_projects as (

    select * from {{ ref('stg_harvest__projects') }}

),

deals as (

    select * from {{ ref('stg_hubspot__deals') }}

),

deal_companies as (

    select * from {{ ref('stg_hubspot__deal_companies') }}

),

crm as (

    select * from records where source_system = 'hubspot'

),

resolvable as (

    select * from records where source_system <> 'hubspot'

),

evidence as (

    select r.customer_record_key, c.source_record_id as crm_company_id, 'external_id' as evidence
    from resolvable as r
    inner join crm as c on r.referenced_crm_company_id = c.source_record_id

    union all

    select r.customer_record_key, c.source_record_id as crm_company_id, 'crm_reference' as evidence
    from resolvable as r
    inner join crm as c
        on r.source_system = 'netsuite'
        and c.referenced_erp_customer_id = r.source_record_id

    union all

    select distinct
        r.customer_record_key,
        c.source_record_id as crm_company_id,
        'project_code' as evidence
    from resolvable as r
    inner join harvest_projects as p
        on r.source_system = 'harvest'
        and cast(p.harvest_client_id as {{ dbt.type_string() }}) = r.source_record_id
    inner join deals as d on p.project_code = d.project_code
    inner join deal_companies as dc on d.deal_id = dc.deal_id
    inner join crm as c on cast(dc.company_id as {{ dbt.type_string() }}) = c.source_record_id

    union all

    select r.customer_record_key, c.source_record_id as crm_company_id, 'name' as evidence
    from resolvable as r
    inner join crm as c on r.normalized_name = c.normalized_name

    union all

    select r.customer_record_key, c.source_record_id as crm_company_id, 'domain' as evidence
    from resolvable as r
    inner join crm as c on r.normalized_domain = c.normalized_domain

),

candidates as (

    select
        customer_record_key,
        crm_company_id,
        max(case when evidence = 'external_id' then 1 else 0 end) as by_external_id,
        max(case when evidence = 'crm_reference' then 1 else 0 end) as by_crm_reference,
        max(case when evidence = 'project_code' then 1 else 0 end) as by_project_code,
        max(case when evidence = 'name' then 1 else 0 end) as by_name,
        max(case when evidence = 'domain' then 1 else 0 end) as by_domain
    from evidence
    group by 1, 2

),

scored as (

    select
        *,
        3 * (by_external_id + by_crm_reference + by_project_code)
        + 2 * (by_name + by_domain) as match_score,
        case when by_external_id + by_crm_reference + by_project_code > 0 then 1 else 0 end
            as by_key,
        case when by_name + by_domain > 0 then 1 else 0 end as by_description
    from candidates

),

ranked as (

    select
        *,
        rank() over (partition by customer_record_key order by match_score desc) as score_rank,
        count(*) over (partition by customer_record_key) as candidate_count
    from scored

),

chosen as (

    {{ sole_leader('ranked', 'customer_record_key') }}

),

elsewhere as (

    select
        ranked.customer_record_key,
        max(ranked.by_key) as has_key_elsewhere,
        max(ranked.by_description) as has_description_elsewhere,
        {{ dbt.listagg('ranked.crm_company_id', "', '", 'order by ranked.crm_company_id') }}
            as other_crm_company_ids
    from ranked
    left join chosen
        on ranked.customer_record_key = chosen.customer_record_key
        and ranked.crm_company_id = chosen.crm_company_id
    where chosen.customer_record_key is null
    group by 1

),

resolved as (

    select
        records.*,
        chosen.crm_company_id,
        coalesce(chosen.match_score, 0) as match_score,
        coalesce(ranked_count.candidate_count, 0) as candidate_count,
        coalesce(chosen.by_external_id, 0) = 1 as has_external_id_evidence,
        coalesce(chosen.by_crm_reference, 0) = 1 as has_crm_reference_evidence,
        coalesce(chosen.by_project_code, 0) = 1 as has_project_code_evidence,
        coalesce(chosen.by_name, 0) = 1 as has_name_evidence,
        coalesce(chosen.by_domain, 0) = 1 as has_domain_evidence,
        coalesce(chosen.by_key, 0) = 1 as has_key_evidence,
        coalesce(chosen.by_description, 0) = 1 as has_description_evidence,
        coalesce(elsewhere.has_key_elsewhere, 0) = 1 as has_key_elsewhere,
        coalesce(elsewhere.has_description_elsewhere, 0) = 1 as has_description_elsewhere,
        elsewhere.other_crm_company_ids,
        records.referenced_crm_company_id is not null
        and (
            chosen.crm_company_id is null
            or records.referenced_crm_company_id <> chosen.crm_company_id
        ) as has_external_id_conflict
    from resolvable as records
    left join chosen on records.customer_record_key = chosen.customer_record_key
    left join (
        select distinct customer_record_key, candidate_count from ranked
    ) as ranked_count on records.customer_record_key = ranked_count.customer_record_key
    left join elsewhere on records.customer_record_key = elsewhere.customer_record_key

),

statused as (

    select
        *,
        case
            when candidate_count = 0 then 'unmatched'
            when crm_company_id is null then 'ambiguous'
            when
                has_key_elsewhere
                or has_external_id_conflict
                or (not has_description_evidence and has_description_elsewhere)
                then 'conflict'
            else 'matched'
        end as match_status
    from resolved

),

ranked_records as (

    select
        *,
        row_number() over (
            partition by source_system, crm_company_id
            order by match_score desc, created_at, source_record_id
        ) as record_rank,
        first_value(source_record_id) over (
            partition by source_system, crm_company_id
            order by match_score desc, created_at, source_record_id
            rows between unbounded preceding and unbounded following
        ) as first_record_id
    from statused

),

final as (

    select

        ---------- ids
        customer_record_key,
        source_system,
        source_record_id,
        crm_company_id,
        referenced_crm_company_id,
        other_crm_company_ids,
        case
            when crm_company_id is not null and record_rank > 1 then first_record_id
        end as duplicate_of_record_id,

        ---------- text
        source_name,
        normalized_name,
        normalized_domain,
        match_status,
        case
            when crm_company_id is null then 'none'
            when has_external_id_evidence then 'external_id'
            when has_crm_reference_evidence then 'crm_reference'
            when has_project_code_evidence then 'project_code'
            when has_name_evidence and has_domain_evidence then 'name_and_domain'
            when has_name_evidence then 'name'
            else 'domain'
        end as match_method,

        ---------- numerics
        cast(case
            when match_status in ('unmatched', 'ambiguous') then 0
            when match_status = 'conflict' then 0.5
            when has_key_evidence and has_description_evidence then 1
            when has_key_evidence then 0.9
            when has_name_evidence and has_domain_evidence then 0.8
            else 0.6
        end as decimal(3, 2)) as match_confidence,
        match_score,
        candidate_count,

        ---------- dates
        created_at,

        ---------- flags
        has_external_id_evidence,
        has_crm_reference_evidence,
        has_project_code_evidence,
        has_name_evidence,
        has_domain_evidence,
        has_external_id_conflict,
        crm_company_id is not null and record_rank > 1 as is_duplicate,
        match_status <> 'matched' or (crm_company_id is not null and record_rank > 1)
            as needs_review

    from ranked_records

)

select * from final
