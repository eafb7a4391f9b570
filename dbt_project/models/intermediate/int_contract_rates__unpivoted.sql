{#-
    The bill rate card of every contract version, one row per version and role: the hourly rate
    a client pays for a role while the version is in force, from its effective date up to the
    next version's (`superseded_on`, exclusive). The CRM keeps one column per role; the role key
    is HR's job title in snake case (stg_bamboohr__employees.role_key), which is how a time
    entry finds its rate.
-#}

{%- set roles = ['analyst', 'consultant', 'senior_consultant', 'manager', 'partner'] %}

with

contract_versions as (

    select * from {{ ref('stg_hubspot__contract_versions') }}

),

unpivoted as (

    {% for role in roles %}
    select
        contract_version_id,
        contract_number,
        version_number,
        project_code,
        billing_model,
        '{{ role }}' as role_key,
        {{ role }}_rate_amount as bill_rate_amount,
        contract_currency as bill_rate_currency,
        effective_on,
        superseded_on
    from contract_versions
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

final as (

    select

        ---------- ids
        {{ dbt.concat(['contract_version_id', "'-'", 'role_key']) }} as contract_rate_id,
        contract_version_id,
        contract_number,
        project_code,
        role_key,

        ---------- text
        billing_model,

        ---------- numerics
        version_number,
        bill_rate_amount,
        bill_rate_currency,

        ---------- dates
        effective_on,
        superseded_on

    from unpivoted

)

select * from final
