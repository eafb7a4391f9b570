{#-
    Project milestones, one row per Kantata milestone story: when it falls due and whether it is
    completed, what completing it is invoiced at (set on the milestones of a milestone contract;
    a checkpoint of any other contract has no amount) and the ERP invoice line that billed it.
    Amounts in the workspace's currency and in the reporting currency at the due date's rate.
-#}

with

stories as (

    select * from {{ ref('stg_kantata__stories') }}
    where is_milestone

),

workspaces as (

    select * from {{ ref('stg_kantata__workspaces') }}

),

contract_versions as (

    select * from {{ ref('stg_hubspot__contract_versions') }}

),

invoice_lines as (

    select * from {{ ref('int_invoice_lines__linked') }}
    where milestone_id is not null

),

fx_rates as (

    select * from {{ ref('int_fx_rates__daily') }}

),

contracts as (

    -- the contract as signed: its milestones and their amounts come from the original SOW
    select
        project_code,
        contract_number,
        contract_version_id,
        billing_model
    from (
        select
            *,
            row_number() over (
                partition by project_code order by version_number, contract_version_id
            ) as version_rank
        from contract_versions
        where project_code is not null
    ) as versions
    where version_rank = 1

),

billed as (

    select
        milestone_id,
        min(invoice_line_id) as invoice_line_id,
        count(*) as invoice_line_count,
        cast(sum(line_amount) as decimal(18, 2)) as billed_amount
    from invoice_lines
    group by milestone_id

),

final as (

    select

        ---------- ids
        stories.story_id as milestone_id,
        workspaces.project_code,
        stories.workspace_id as psa_workspace_id,
        contracts.contract_number,
        contracts.contract_version_id as signed_contract_version_id,
        billed.invoice_line_id,

        ---------- text
        stories.story_title as milestone_title,
        stories.story_state as milestone_state,
        contracts.billing_model,

        ---------- numerics
        stories.budget_amount as milestone_amount,
        coalesce(stories.budget_currency, workspaces.workspace_currency) as milestone_currency,
        cast(round(stories.budget_amount * fx_rates.fx_rate, 2) as decimal(18, 2))
            as milestone_reporting_amount,
        coalesce(billed.invoice_line_count, 0) as invoice_line_count,
        cast(coalesce(billed.billed_amount, 0) as decimal(18, 2)) as billed_amount,
        '{{ var("reporting_currency") | upper }}' as reporting_currency,

        ---------- dates
        stories.due_on,
        cast({{ dbt.date_trunc('month', 'stories.due_on') }} as date) as due_month,
        stories.completed_on,

        ---------- flags
        stories.is_completed,
        stories.budget_amount is not null as is_billable,
        billed.milestone_id is not null as is_billed

    from stories
    left join workspaces on workspaces.workspace_id = stories.workspace_id
    left join contracts on contracts.project_code = workspaces.project_code
    left join billed on billed.milestone_id = stories.story_id
    left join fx_rates
        on fx_rates.currency = coalesce(stories.budget_currency, workspaces.workspace_currency)
        and fx_rates.rate_on = stories.due_on

)

select * from final
