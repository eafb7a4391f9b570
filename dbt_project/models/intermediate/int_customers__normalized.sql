{#-
    Every customer record of every system in one shape, with the keys identity resolution
    compares: one row per CRM company, ERP customer and Harvest client.

    A name typed by hand drifts from system to system ("Orion Retail 4", "ORION RETAIL 4",
    "Orion Retail 4, Inc.", "The Orion Retail 4 Ltd"), so names are compared normalised:
    lower case; "&" read as "and"; every run of characters other than a-z and 0-9 becomes one
    space (accented letters too: a name is compared with itself as typed elsewhere, not
    transliterated); a leading "the" dropped; trailing legal-form words dropped (Ltd, Limited,
    Inc, Incorporated, LLC, LLP, LP, PLC, GmbH, AG, KG, SA, SAS, SARL, SRL, SpA, BV, NV, Oy, AB,
    Pty, Co, Corp, Corporation, Company, and the spelled-out "s a", "b v", "n v", "g m b h").
    A name that is nothing but such words keeps them. Domains are compared as host names:
    scheme, "www." prefix, port and path dropped, lower case.

    The ERP and Harvest are the systems resolved to the CRM. Kantata workspaces carry no client:
    they reach a customer through their project code only (int_projects__matched).
-#}

{%- set legal_forms = [
    'ltd', 'limited', 'inc', 'incorporated', 'llc', 'llp', 'lp', 'plc', 'gmbh', 'ag', 'kg',
    'sa', 'sas', 'sarl', 'srl', 'spa', 'bv', 'nv', 'oy', 'ab', 'pty', 'co', 'corp',
    'corporation', 'company', 's a', 'b v', 'n v', 'g m b h',
] %}

with

crm_companies as (

    select * from {{ ref('stg_hubspot__companies') }}

),

erp_customers as (

    select * from {{ ref('stg_netsuite__customers') }}

),

harvest_clients as (

    select * from {{ ref('stg_harvest__clients') }}

),

records as (

    select
        'hubspot' as source_system,
        cast(company_id as {{ dbt.type_string() }}) as source_record_id,
        company_name as source_name,
        company_domain as source_domain,
        cast(null as {{ dbt.type_string() }}) as referenced_crm_company_id,
        cast(erp_customer_id as {{ dbt.type_string() }}) as referenced_erp_customer_id,
        created_at
    from crm_companies

    union all

    select
        'netsuite' as source_system,
        cast(erp_customer_id as {{ dbt.type_string() }}) as source_record_id,
        customer_name as source_name,
        website_url as source_domain,
        cast(crm_company_id as {{ dbt.type_string() }}) as referenced_crm_company_id,
        cast(null as {{ dbt.type_string() }}) as referenced_erp_customer_id,
        created_at
    from erp_customers

    union all

    select
        'harvest' as source_system,
        cast(harvest_client_id as {{ dbt.type_string() }}) as source_record_id,
        client_name as source_name,
        cast(null as {{ dbt.type_string() }}) as source_domain,
        cast(null as {{ dbt.type_string() }}) as referenced_crm_company_id,
        cast(null as {{ dbt.type_string() }}) as referenced_erp_customer_id,
        created_at
    from harvest_clients

),

words as (

    select
        *,
        trim(regexp_replace(
            replace(lower(coalesce(source_name, '')), '&', ' and '), '[^a-z0-9]+', ' ', 'g'
        )) as name_words,
        regexp_replace(
            regexp_replace(lower(trim(coalesce(source_domain, ''))), '^[a-z][a-z0-9+.-]*://', ''),
            '^www[0-9]*[.]',
            ''
        ) as domain_host
    from records

),

without_article as (

    select
        *,
        regexp_replace(name_words, '^the ', '') as name_without_article
    from words

),

without_legal_form as (

    select
        *,
        trim(regexp_replace(
            {{ dbt.concat(["' '", 'name_without_article', "' '"]) }},
            '( ({{ legal_forms | join("|") }}))+ $',
            ' '
        )) as name_without_legal_form
    from without_article

),

normalized as (

    select

        ---------- ids
        {{ dbt.concat(['source_system', "':'", 'source_record_id']) }} as customer_record_key,
        source_system,
        source_record_id,
        nullif(trim(referenced_crm_company_id), '') as referenced_crm_company_id,
        nullif(trim(referenced_erp_customer_id), '') as referenced_erp_customer_id,

        ---------- text
        source_name,
        coalesce(
            nullif(name_without_legal_form, ''), nullif(name_without_article, '')
        ) as normalized_name,
        nullif(
            rtrim({{ dbt.split_part(dbt.split_part(dbt.split_part('domain_host', "'/'", 1), "'?'", 1), "':'", 1) }}, '.'),
            ''
        ) as normalized_domain,

        ---------- dates
        created_at

    from without_legal_form

)

select * from normalized
