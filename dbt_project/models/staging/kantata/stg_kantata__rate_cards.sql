{#-
    A workspace's hourly bill rate per role from each effective date, as Kantata keeps it: the
    workspace names a rate card (one currency of a rate card set; a workspace naming none is on
    the account default set's card in its currency); each published (active) set version,
    from its effective date, holds a version of the card, whose rate card roles give a role's
    rate in cents per hour and whose default rate applies to every account role without one.
    A rate is in force from effective_on until the set's next version takes effect
    (`superseded_on`, exclusive), whether or not that version lists the role.
-#}

with

workspaces as (

    {{ latest_by_key(source('kantata', 'workspaces'), 'id', 'updated_at desc, _dlt_load_id desc') }}

),

rate_card_sets as (

    {{ latest_by_key(source('kantata', 'rate_card_sets'), 'id') }}

),

rate_cards as (

    {{ latest_by_key(source('kantata', 'rate_cards'), 'id') }}

),

set_versions as (

    select
        id,
        rate_card_set_id,
        cast(effective_date as date) as effective_on,
        lead(cast(effective_date as date)) over (
            partition by rate_card_set_id
            order by cast(effective_date as date), cast(id as bigint)
        ) as superseded_on
    from (
        {{ latest_by_key(source('kantata', 'rate_card_set_versions'), 'id', 'updated_at desc, _dlt_load_id desc') }}
    ) as latest
    where coalesce(active, true) and nullif(trim(effective_date), '') is not null

),

card_versions as (

    {{ latest_by_key(source('kantata', 'rate_card_versions'), 'id', 'updated_at desc, _dlt_load_id desc') }}

),

card_roles as (

    {{ latest_by_key(source('kantata', 'rate_card_roles'), 'id', 'updated_at desc, _dlt_load_id desc') }}

),

roles as (

    {{ latest_by_key(source('kantata', 'roles'), 'id') }}

),

account_default_cards as (

    select rate_cards.id, upper(trim(rate_cards.currency)) as currency
    from rate_cards
    inner join rate_card_sets on rate_card_sets.id = rate_cards.rate_card_set_id
    where rate_card_sets.account_default

),

workspace_cards as (

    select
        workspaces.id as workspace_id,
        coalesce(workspaces.rate_card_id, account_default_cards.id) as rate_card_id
    from workspaces
    left join account_default_cards
        on workspaces.rate_card_id is null
        and account_default_cards.currency = upper(trim(workspaces.currency))

),

priced_roles as (

    -- the roles a card version prices, then every other account role at its default rate
    select
        rate_card_version_id as card_version_id,
        role_id,
        id as rate_card_role_id,
        rate as rate_in_cents,
        created_at,
        updated_at
    from card_roles

    union all

    select
        card_versions.id as card_version_id,
        roles.id as role_id,
        cast(null as {{ dbt.type_string() }}) as rate_card_role_id,
        card_versions.default_rate as rate_in_cents,
        card_versions.created_at,
        card_versions.updated_at
    from card_versions
    cross join roles
    where card_versions.default_rate is not null
        and not exists (
            select 1
            from card_roles
            where card_roles.rate_card_version_id = card_versions.id
                and card_roles.role_id = roles.id
        )

),

rates as (

    select
        workspace_cards.workspace_id,
        rate_cards.id as rate_card_id,
        rate_cards.currency,
        rate_card_sets.title as set_title,
        set_versions.effective_on,
        set_versions.superseded_on,
        roles.name as role_name,
        priced_roles.rate_card_role_id,
        priced_roles.rate_in_cents,
        priced_roles.created_at,
        priced_roles.updated_at
    from workspace_cards
    inner join rate_cards on rate_cards.id = workspace_cards.rate_card_id
    left join rate_card_sets on rate_card_sets.id = rate_cards.rate_card_set_id
    inner join card_versions on card_versions.rate_card_id = rate_cards.id
    inner join set_versions on set_versions.id = card_versions.rate_card_set_version_id
    inner join priced_roles on priced_roles.card_version_id = card_versions.id
    left join roles on roles.id = priced_roles.role_id

),

renamed as (

    select

        ----------  ids
        cast(rate_card_id as bigint) as rate_card_id,
        cast(rate_card_role_id as bigint) as rate_card_role_id,
        cast(workspace_id as bigint) as workspace_id,

        ---------- text
        set_title as rate_card_title,
        trim(role_name) as role_name,
        lower(replace(trim(role_name), ' ', '_')) as role_key,

        ---------- numerics
        cast(rate_in_cents * 0.01 as decimal(18, 2)) as bill_rate_amount,
        upper(trim(currency)) as bill_rate_currency,

        ---------- dates
        effective_on,
        superseded_on,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at

    from rates

)

select * from renamed
