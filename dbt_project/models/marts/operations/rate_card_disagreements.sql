{#-
    Where the PSA's bill rate for a role disagrees with the contract's, one row per project,
    role and period of disagreement: the days on which the project's Kantata rate card and its
    contract, both in force, price the role differently (int_rate_cards__compared), from
    valid_from up to valid_to (exclusive; null while it lasts). Consecutive days on which the
    same two rates disagree are one period, whatever version boundaries fall between them (an
    amendment that changed only the budget does not split it).

    Both rates are in their own currencies (the PSA's card's, the contract's), and in the
    reporting currency at the rate of the period's first day. disagreement says what differs:
    `rate` (the amounts, in one currency) or `currency` (the card is in another currency).
-#}

{%- set reporting_currency = var('reporting_currency') | upper %}

with

compared as (

    select * from {{ ref('int_rate_cards__compared') }}
    where is_disagreement

),

projects as (

    select * from {{ ref('dim_project') }}

),

fx_rates as (

    select * from {{ ref('int_fx_rates__daily') }}

),

flagged as (

    select
        *,
        case
            when lag(valid_to) over by_day = valid_from
                and lag(psa_rate_amount) over by_day = psa_rate_amount
                and lag(psa_rate_currency) over by_day = psa_rate_currency
                and lag(contract_rate_amount) over by_day = contract_rate_amount
                and lag(contract_rate_currency) over by_day = contract_rate_currency
                then 0
            else 1
        end as starts_period
    from compared
    window by_day as (partition by project_code, role_key order by valid_from)

),

numbered as (

    select
        *,
        sum(starts_period) over (
            partition by project_code, role_key
            order by valid_from
            rows between unbounded preceding and current row
        ) as period_number
    from flagged

),

periods as (

    select
        project_code,
        role_key,
        period_number,
        min(valid_from) as valid_from,
        case when count(valid_to) = count(*) then max(valid_to) end as valid_to,
        min(case when starts_period = 1 then contract_number end) as contract_number,
        min(case when starts_period = 1 then contract_version_id end) as contract_version_id,
        min(case when starts_period = 1 then psa_workspace_id end) as psa_workspace_id,
        min(case when starts_period = 1 then rate_card_id end) as rate_card_id,
        min(case when starts_period = 1 then rate_card_title end) as rate_card_title,
        min(psa_rate_amount) as psa_rate_amount,
        min(psa_rate_currency) as psa_rate_currency,
        min(contract_rate_amount) as contract_rate_amount,
        min(contract_rate_currency) as contract_rate_currency
    from numbered
    group by 1, 2, 3

),

final as (

    select

        ---------- ids
        {{ dbt.concat([
            'periods.project_code', "':'", 'periods.role_key', "':'",
            dbt.cast('periods.valid_from', dbt.type_string()),
        ]) }} as rate_card_disagreement_id,
        periods.project_code,
        projects.customer_id,
        periods.contract_number,
        periods.contract_version_id,
        periods.psa_workspace_id,
        periods.rate_card_id,

        ---------- text
        periods.role_key,
        periods.rate_card_title,
        case
            when periods.psa_rate_currency = periods.contract_rate_currency then 'rate'
            else 'currency'
        end as disagreement,
        projects.practice,
        projects.legal_entity,

        ---------- numerics
        periods.psa_rate_amount,
        periods.psa_rate_currency,
        periods.contract_rate_amount,
        periods.contract_rate_currency,
        case when periods.psa_rate_currency = periods.contract_rate_currency
            then cast(periods.psa_rate_amount - periods.contract_rate_amount as decimal(18, 2))
        end as rate_difference_amount,
        cast(round(periods.psa_rate_amount * psa_fx.fx_rate, 2) as decimal(18, 2))
            as psa_rate_reporting_amount,
        cast(round(periods.contract_rate_amount * contract_fx.fx_rate, 2) as decimal(18, 2))
            as contract_rate_reporting_amount,
        cast(
            round(periods.psa_rate_amount * psa_fx.fx_rate, 2)
            - round(periods.contract_rate_amount * contract_fx.fx_rate, 2)
            as decimal(18, 2)
        ) as rate_difference_reporting_amount,
        '{{ reporting_currency }}' as reporting_currency,

        ---------- dates
        periods.valid_from,
        periods.valid_to,

        ---------- flags
        periods.valid_to is null as is_current

    from periods
    left join projects on projects.project_code = periods.project_code
    left join fx_rates as psa_fx
        on psa_fx.currency = periods.psa_rate_currency
        and psa_fx.rate_on = periods.valid_from
    left join fx_rates as contract_fx
        on contract_fx.currency = periods.contract_rate_currency
        and contract_fx.rate_on = periods.valid_from

)

select * from final
