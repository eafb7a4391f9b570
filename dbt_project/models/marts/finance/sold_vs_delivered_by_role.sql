{#-
    What was sold of each role beside what was delivered, one row per project and role: a
    role the deal's quote sells hours of (stg_hubspot__line_items), a role whose people
    delivered approved time (fct_time_entry), or both.

    sold       the won deal's quote lines for the role (archived lines left out): hours, and
               their value at the quoted price, in the project's currency (the contract's:
               `currency`) and in the reporting currency at the rate of the day the deal closed.
    delivered  approved time of the role's people on the project, all of it to date: hours,
               billable hours and their value at the contract's rate in force on the day
               (fct_time_entry.bill_amount), in the project's currency and in the reporting
               currency at the day's rate, as project_margin_monthly counts delivered value.

    A fixed-fee, retainer or milestone deal is quoted as one fee, not by role
    (is_quoted_by_role is false): its roles have delivered figures only, and what was sold is
    dim_project.sold_amount. Time of a person HR does not know has no role: it is the
    project's row with a null role_key. An amount in another currency than the project's is
    converted at the day's rates (int_fx_rates__daily).
-#}

{%- set reporting_currency = var('reporting_currency') | upper %}

with

projects as (

    select * from {{ ref('dim_project') }}

),

line_items as (

    select * from {{ ref('stg_hubspot__line_items') }}
    where not is_archived

),

time_entries as (

    select * from {{ ref('fct_time_entry') }}
    where is_approved

),

resources as (

    select * from {{ ref('dim_resource') }}

),

fx_rates as (

    select * from {{ ref('int_fx_rates__daily') }}

),

role_names as (

    select role_key, min(role) as role_name
    from resources
    where role_key is not null
    group by 1

),

quoted_projects as (

    select projects.project_code, count(line_items.role_key) > 0 as is_quoted_by_role
    from projects
    inner join line_items on line_items.deal_id = projects.crm_deal_id
    group by 1

),

sold_lines as (

    select
        projects.project_code,
        line_items.role_key,
        line_items.role_name,
        line_items.quantity,
        line_items.line_amount,
        case
            when line_items.line_currency = projects.project_currency
                then line_items.line_amount
            else round(line_items.line_amount * line_fx.fx_rate / project_fx.fx_rate, 2)
        end as project_amount,
        round(line_items.line_amount * line_fx.fx_rate, 2) as reporting_amount
    from line_items
    inner join projects on projects.crm_deal_id = line_items.deal_id
    left join fx_rates as line_fx
        on line_fx.currency = line_items.line_currency
        and line_fx.rate_on = coalesce(projects.deal_closed_on, cast(line_items.created_at as date))
    left join fx_rates as project_fx
        on project_fx.currency = projects.project_currency
        and project_fx.rate_on = coalesce(projects.deal_closed_on, cast(line_items.created_at as date))
    where line_items.role_key is not null

),

sold as (

    select
        project_code,
        role_key,
        min(role_name) as role_name,
        sum(quantity) as sold_hours,
        sum(project_amount) as sold_amount,
        sum(reporting_amount) as sold_reporting_amount
    from sold_lines
    group by 1, 2

),

delivered as (

    select
        time_entries.project_code,
        time_entries.role_key,
        sum(time_entries.hours) as delivered_hours,
        sum(time_entries.billable_hours) as delivered_billable_hours,
        sum(
            case
                when time_entries.bill_currency = projects.project_currency
                    then coalesce(time_entries.bill_amount, 0)
                else coalesce(
                    round(time_entries.bill_amount * bill_fx.fx_rate / project_fx.fx_rate, 2), 0
                )
            end
        ) as delivered_amount,
        sum(coalesce(time_entries.bill_reporting_amount, 0)) as delivered_reporting_amount
    from time_entries
    inner join projects on projects.project_code = time_entries.project_code
    left join fx_rates as bill_fx
        on bill_fx.currency = time_entries.bill_currency
        and bill_fx.rate_on = time_entries.spent_on
    left join fx_rates as project_fx
        on project_fx.currency = projects.project_currency
        and project_fx.rate_on = time_entries.spent_on
    group by 1, 2

),

project_roles as (

    select project_code, role_key from sold
    union
    select project_code, role_key from delivered

),

final as (

    select

        ---------- ids
        {{ dbt.concat(['project_roles.project_code', "':'", "coalesce(project_roles.role_key, 'none')"]) }}
            as sold_vs_delivered_id,
        project_roles.project_code,
        projects.customer_id,

        ---------- text
        project_roles.role_key,
        coalesce(role_names.role_name, sold.role_name) as role_name,
        projects.billing_model,
        projects.practice,
        projects.legal_entity,
        projects.project_currency as currency,
        '{{ reporting_currency }}' as reporting_currency,

        ---------- numerics
        cast(coalesce(sold.sold_hours, 0) as decimal(18, 4)) as sold_hours,
        cast(coalesce(sold.sold_amount, 0) as decimal(18, 2)) as sold_amount,
        case when sold.sold_hours <> 0
            then cast(round(sold.sold_amount / sold.sold_hours, 2) as decimal(18, 2))
        end as sold_rate_amount,
        cast(coalesce(sold.sold_reporting_amount, 0) as decimal(18, 2)) as sold_reporting_amount,
        cast(coalesce(delivered.delivered_hours, 0) as decimal(18, 4)) as delivered_hours,
        cast(coalesce(delivered.delivered_billable_hours, 0) as decimal(18, 4))
            as delivered_billable_hours,
        cast(coalesce(delivered.delivered_amount, 0) as decimal(18, 2)) as delivered_amount,
        cast(coalesce(delivered.delivered_reporting_amount, 0) as decimal(18, 2))
            as delivered_reporting_amount,
        cast(
            coalesce(sold.sold_hours, 0) - coalesce(delivered.delivered_billable_hours, 0)
            as decimal(18, 4)
        ) as sold_less_delivered_hours,
        cast(
            coalesce(sold.sold_amount, 0) - coalesce(delivered.delivered_amount, 0)
            as decimal(18, 2)
        ) as sold_less_delivered_amount,
        cast(
            coalesce(sold.sold_reporting_amount, 0)
            - coalesce(delivered.delivered_reporting_amount, 0)
            as decimal(18, 2)
        ) as sold_less_delivered_reporting_amount,

        ---------- flags
        coalesce(quoted_projects.is_quoted_by_role, false) as is_quoted_by_role,
        sold.project_code is not null as is_sold,
        delivered.project_code is not null as is_delivered

    from project_roles
    inner join projects on projects.project_code = project_roles.project_code
    left join sold
        on sold.project_code = project_roles.project_code
        and sold.role_key is not distinct from project_roles.role_key
    left join delivered
        on delivered.project_code = project_roles.project_code
        and delivered.role_key is not distinct from project_roles.role_key
    left join role_names on role_names.role_key = project_roles.role_key
    left join quoted_projects on quoted_projects.project_code = project_roles.project_code

)

select * from final
