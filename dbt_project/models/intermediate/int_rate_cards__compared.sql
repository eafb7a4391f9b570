{#-
    The PSA's bill rates held against the contract's, one row per project, role and period in
    which a Kantata rate card version and a contract version are both in force: the workspace's
    rate for the role (stg_kantata__rate_cards) and the contract's (int_contract_rates__unpivoted)
    from the later of the two effective dates up to the earlier of the two supersessions
    (`valid_to`, exclusive; null while both are in force). The workspace is the project's
    (int_projects__matched). They disagree when the amounts or the currencies differ: the PSA
    would plan and price the role's work at a rate the client did not sign. Roles the contract
    prices no rate for, and days before either side's first rate, are not compared.
-#}

with

projects as (

    select * from {{ ref('int_projects__matched') }}
    where psa_workspace_id is not null

),

psa_rates as (

    select * from {{ ref('stg_kantata__rate_cards') }}

),

contract_rates as (

    select * from {{ ref('int_contract_rates__unpivoted') }}
    where bill_rate_amount is not null

),

common_periods as (

    select
        contract_rates.project_code,
        contract_rates.role_key,
        contract_rates.contract_number,
        contract_rates.contract_version_id,
        contract_rates.version_number,
        psa_rates.workspace_id as psa_workspace_id,
        psa_rates.rate_card_id,
        psa_rates.rate_card_title,
        psa_rates.bill_rate_amount as psa_rate_amount,
        psa_rates.bill_rate_currency as psa_rate_currency,
        contract_rates.bill_rate_amount as contract_rate_amount,
        contract_rates.bill_rate_currency as contract_rate_currency,
        psa_rates.effective_on as psa_effective_on,
        case
            when psa_rates.effective_on > contract_rates.effective_on then psa_rates.effective_on
            else contract_rates.effective_on
        end as valid_from,
        case
            when contract_rates.superseded_on is null then psa_rates.superseded_on
            when psa_rates.superseded_on is null then contract_rates.superseded_on
            when psa_rates.superseded_on < contract_rates.superseded_on
                then psa_rates.superseded_on
            else contract_rates.superseded_on
        end as valid_to
    from contract_rates
    inner join projects on projects.project_code = contract_rates.project_code
    inner join psa_rates
        on psa_rates.workspace_id = projects.psa_workspace_id
        and psa_rates.role_key = contract_rates.role_key

),

final as (

    select

        ---------- ids
        {{ dbt.concat([
            'contract_version_id', "':'", 'role_key', "':'",
            dbt.cast('rate_card_id', dbt.type_string()), "':'",
            dbt.cast('psa_effective_on', dbt.type_string()),
        ]) }} as rate_comparison_id,
        project_code,
        contract_number,
        contract_version_id,
        psa_workspace_id,
        rate_card_id,

        ---------- text
        role_key,
        rate_card_title,

        ---------- numerics
        version_number,
        psa_rate_amount,
        psa_rate_currency,
        contract_rate_amount,
        contract_rate_currency,

        ---------- dates
        valid_from,
        valid_to,

        ---------- flags
        psa_rate_amount <> contract_rate_amount
        or psa_rate_currency <> contract_rate_currency as is_disagreement

    from common_periods
    where valid_to is null or valid_from < valid_to

)

select * from final
