{#-
    Every Harvest time entry rated twice over, one row per entry:

    - bill rate: the contract version in force on the day the work was done (the latest version
      of the project's contract effective on or before it; the original before the first) at
      the consultant's role (HR's job title). The time tool stamps its own rate on each entry
      (entry_rate_amount), and the ERP bills that one; the two differ when the tool picked an
      amendment up late, which is what has_superseded_rate says;
    - cost rate: the consultant's HR compensation in force on the day, in the currency of the
      entity that employs them.

    The Harvest user is resolved to the HR employee by int_resources__matched. An entry on a
    code no contract knows (a stray Harvest code) has no contract rate. An entry whose person HR
    does not know (a firm that has not connected its HR system yet, a contractor) has no role to
    read the contract's rate card at, and no cost rate: on a contracted project it is billed at
    the rate the time tool holds for it, the best evidence there is of what it bills.
-#}

with

time_entries as (

    select * from {{ ref('stg_harvest__time_entries') }}

),

resources as (

    select * from {{ ref('int_resources__matched') }}
    where source_system = 'harvest'

),

employees as (

    select * from {{ ref('stg_bamboohr__employees') }}

),

contract_rates as (

    select * from {{ ref('int_contract_rates__unpivoted') }}

),

compensation as (

    select * from {{ ref('stg_bamboohr__compensation') }}

),

people as (

    select
        time_entries.time_entry_id,
        resources.employee_id,
        employees.role_key
    from time_entries
    left join resources
        on resources.source_record_id
        = cast(time_entries.harvest_user_id as {{ dbt.type_string() }})
    left join employees on employees.employee_id = resources.employee_id

),

contract_rate_on_day as (

    -- the version in force on the day; before the first version's effective date, the first
    select
        time_entry_id,
        contract_version_id,
        contract_number,
        billing_model,
        bill_rate_amount,
        bill_rate_currency
    from (
        select
            time_entries.time_entry_id,
            contract_rates.contract_version_id,
            contract_rates.contract_number,
            contract_rates.billing_model,
            contract_rates.bill_rate_amount,
            contract_rates.bill_rate_currency,
            row_number() over (
                partition by time_entries.time_entry_id
                order by contract_rates.effective_on desc, contract_rates.version_number desc
            ) as version_rank
        from time_entries
        inner join people on people.time_entry_id = time_entries.time_entry_id
        inner join contract_rates
            on contract_rates.project_code = time_entries.project_code
            and contract_rates.role_key = people.role_key
            and (
                time_entries.spent_on >= contract_rates.effective_on
                or contract_rates.version_number = 1
            )
            and (
                contract_rates.superseded_on is null
                or time_entries.spent_on < contract_rates.superseded_on
            )
    ) as candidates
    where version_rank = 1

),

contract_of_project as (

    -- the billing model, for entries whose person has no role to rate them at
    select
        project_code,
        max(billing_model) as billing_model
    from contract_rates
    group by project_code

),

cost_rate_on_day as (

    select
        time_entry_id,
        compensation_id,
        cost_rate_amount,
        cost_rate_currency
    from (
        select
            people.time_entry_id,
            compensation.compensation_id,
            compensation.cost_rate_amount,
            compensation.cost_rate_currency,
            row_number() over (
                partition by people.time_entry_id
                order by compensation.effective_on desc, compensation.compensation_id desc
            ) as pay_rank
        from people
        inner join time_entries on time_entries.time_entry_id = people.time_entry_id
        inner join compensation
            on compensation.employee_id = people.employee_id
            and compensation.effective_on <= time_entries.spent_on
    ) as candidates
    where pay_rank = 1

),

bill_rates as (

    -- the contract's rate at the person's role; without a role, the time tool's own rate
    select
        time_entries.time_entry_id,
        cast(
            case
                when contract_rate_on_day.time_entry_id is not null
                    then contract_rate_on_day.bill_rate_amount
                when people.role_key is null and contract_of_project.project_code is not null
                    then time_entries.bill_rate_amount
            end
            as decimal(18, 2)
        ) as bill_rate_amount,
        case
            when contract_rate_on_day.time_entry_id is not null
                then contract_rate_on_day.bill_rate_currency
            when people.role_key is null and contract_of_project.project_code is not null
                then time_entries.bill_rate_currency
        end as bill_rate_currency
    from time_entries
    left join people on people.time_entry_id = time_entries.time_entry_id
    left join contract_rate_on_day
        on contract_rate_on_day.time_entry_id = time_entries.time_entry_id
    left join contract_of_project on contract_of_project.project_code = time_entries.project_code

),

final as (

    select

        ---------- ids
        time_entries.time_entry_id,
        time_entries.harvest_user_id,
        people.employee_id,
        time_entries.project_code,
        time_entries.harvest_project_id,
        time_entries.harvest_task_id,
        contract_rate_on_day.contract_version_id,
        contract_rate_on_day.contract_number,
        cost_rate_on_day.compensation_id,

        ---------- text
        people.role_key,
        coalesce(contract_rate_on_day.billing_model, contract_of_project.billing_model)
            as billing_model,
        time_entries.user_name,
        time_entries.task_name,

        ---------- numerics
        time_entries.hours,
        time_entries.bill_rate_amount as entry_rate_amount,
        time_entries.bill_rate_currency as entry_rate_currency,
        cast(round(time_entries.hours * time_entries.bill_rate_amount, 2) as decimal(18, 2))
            as entry_amount,
        bill_rates.bill_rate_amount,
        bill_rates.bill_rate_currency,
        cast(
            case
                when time_entries.is_billable
                    then round(time_entries.hours * bill_rates.bill_rate_amount, 2)
                when bill_rates.bill_rate_amount is not null then 0
            end
            as decimal(18, 2)
        ) as bill_amount,
        cost_rate_on_day.cost_rate_amount,
        cost_rate_on_day.cost_rate_currency,
        cast(round(time_entries.hours * cost_rate_on_day.cost_rate_amount, 2) as decimal(18, 2))
            as cost_amount,

        ---------- dates
        time_entries.spent_on,

        ---------- flags
        time_entries.is_billable,
        time_entries.is_approved,
        coalesce(
            time_entries.is_billable
            and time_entries.bill_rate_amount <> contract_rate_on_day.bill_rate_amount,
            false
        ) as has_superseded_rate

    from time_entries
    left join people on people.time_entry_id = time_entries.time_entry_id
    left join contract_rate_on_day
        on contract_rate_on_day.time_entry_id = time_entries.time_entry_id
    left join contract_of_project on contract_of_project.project_code = time_entries.project_code
    left join cost_rate_on_day on cost_rate_on_day.time_entry_id = time_entries.time_entry_id
    left join bill_rates on bill_rates.time_entry_id = time_entries.time_entry_id

)

select * from final
