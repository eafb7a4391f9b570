{#-
    How well the firm's systems hand work to each other, one row per metric, entity, system
    and month. The month is the month of the event the measurement starts from (the deal's
    close, the time entry's day, the invoice's date, the record's creation).

    metric_name                 entity      system    what is measured
    quote_to_project_days       project     kantata   days from the deal's close to the PSA
                                            harvest   workspace / Harvest project / ERP job being
                                            netsuite  created (won deals set up in that system)
    quote_to_start_days         project     kantata   days from the deal's close to the
                                                      workspace's start date
    time_to_bill_days           time_entry  netsuite  days from the day billed time was worked to
                                                      the date of the first invoice billing it
                                                      (drafts excluded)
    invoice_exception_rate      invoice     netsuite  share of invoices (drafts excluded) with an
                                                      exception: a credit memo raised against it,
                                                      a line in revenue_leakage (billed at a
                                                      superseded rate, or time billed twice), its
                                                      project code not matched across the
                                                      systems, or billed to an ERP customer that
                                                      is a duplicate or resolves to no CRM company
    unmatched_records           customer,   each      records linked to nothing: customers and
                                resource,             resources unmatched or ambiguous; a won
                                project               deal some delivery system lacks; a
                                                      workspace, Harvest project or ERP job whose
                                                      code the CRM does not know
    records_for_review          (same)      each      records listed in identity_match_review
                                                      (conflicts and duplicates as well)
    rate_card_disagreements     rate_card   kantata   periods in which the PSA's rate card and
                                                      the contract price a role differently
                                                      (rate_card_disagreements), out of the
                                                      periods compared (int_rate_cards__compared)
    Durations: metric_value is the mean, median_value and max_value beside it. Rates and
    counts: exception_count out of measured_count; metric_value is the share (rates) or the
    count (records). A record without a creation time counts in the latest month; a rate card
    period counts in the month it starts.
-#}

with

projects as (

    select * from {{ ref('int_projects__matched') }}

),

customers as (

    select * from {{ ref('int_customers__matched') }}

),

resources as (

    select * from {{ ref('int_resources__matched') }}

),

reviews as (

    select * from {{ ref('identity_match_review') }}

),

time_entries as (

    select * from {{ ref('fct_time_entry') }}

),

invoice_lines as (

    select * from {{ ref('fct_invoice_line') }}

),

invoices as (

    select * from {{ ref('stg_netsuite__invoices') }}

),

credit_memos as (

    select * from {{ ref('stg_netsuite__credit_memos') }}

),

leakage as (

    select * from {{ ref('revenue_leakage') }}

),

rate_comparisons as (

    select * from {{ ref('int_rate_cards__compared') }}

),

rate_disagreements as (

    select * from {{ ref('rate_card_disagreements') }}

),

---------- durations

setup_lags as (

    {%- for system, column in [
        ('kantata', 'psa_workspace_created_at'),
        ('harvest', 'harvest_project_created_at'),
        ('netsuite', 'erp_job_created_at'),
    ] %}
    {% if not loop.first %}union all{% endif %}
    select
        'quote_to_project_days' as metric_name,
        'project' as entity,
        '{{ system }}' as source_system,
        deal_closed_on as event_on,
        {{ dbt.datediff('deal_closed_on', 'cast(' ~ column ~ ' as date)', 'day') }} as lag_days
    from projects
    where is_won and deal_closed_on is not null and {{ column }} is not null
    {%- endfor %}

    union all

    select
        'quote_to_start_days' as metric_name,
        'project' as entity,
        'kantata' as source_system,
        deal_closed_on as event_on,
        {{ dbt.datediff('deal_closed_on', 'psa_workspace_starts_on', 'day') }} as lag_days
    from projects
    where is_won and deal_closed_on is not null and psa_workspace_starts_on is not null

),

first_billed as (

    select time_entry_id, min(invoiced_on) as invoiced_on
    from invoice_lines
    where time_entry_id is not null and not is_draft
    group by 1

),

bill_lags as (

    select
        'time_to_bill_days' as metric_name,
        'time_entry' as entity,
        'netsuite' as source_system,
        time_entries.spent_on as event_on,
        {{ dbt.datediff('time_entries.spent_on', 'first_billed.invoiced_on', 'day') }} as lag_days
    from time_entries
    inner join first_billed on time_entries.time_entry_id = first_billed.time_entry_id

),

lags as (

    select * from setup_lags
    union all
    select * from bill_lags

),

duration_metrics as (

    select
        metric_name,
        entity,
        source_system,
        cast({{ dbt.date_trunc('month', 'event_on') }} as date) as month_on,
        count(*) as measured_count,
        cast(null as bigint) as exception_count,
        cast(avg(lag_days) as decimal(18, 4)) as metric_value,
        cast(percentile_cont(0.5) within group (order by lag_days) as decimal(18, 4))
            as median_value,
        cast(max(lag_days) as decimal(18, 4)) as max_value,
        'days' as metric_unit
    from lags
    group by 1, 2, 3, 4

),

---------- invoice exceptions

credited as (

    select distinct invoice_id from credit_memos where invoice_id is not null

),

leaky as (

    select distinct invoice_lines.invoice_id
    from leakage
    inner join invoice_lines on leakage.invoice_line_id = invoice_lines.invoice_line_id

),

flagged_invoices as (

    select
        invoices.invoice_id,
        invoices.invoiced_on,
        case
            when credited.invoice_id is not null then 1
            when leaky.invoice_id is not null then 1
            when projects.project_code is null or projects.needs_review then 1
            when customers.crm_company_id is null or customers.is_duplicate then 1
            else 0
        end as is_exception
    from invoices
    left join credited on invoices.invoice_id = credited.invoice_id
    left join leaky on invoices.invoice_id = leaky.invoice_id
    left join projects on invoices.project_code = projects.project_code
    left join customers
        on customers.source_system = 'netsuite'
        and customers.source_record_id
        = cast(invoices.erp_customer_id as {{ dbt.type_string() }})
    where not invoices.is_draft

),

invoice_metrics as (

    select
        'invoice_exception_rate' as metric_name,
        'invoice' as entity,
        'netsuite' as source_system,
        cast({{ dbt.date_trunc('month', 'invoiced_on') }} as date) as month_on,
        count(*) as measured_count,
        cast(sum(is_exception) as bigint) as exception_count,
        cast(1.0 * sum(is_exception) / count(*) as decimal(18, 4)) as metric_value,
        cast(null as decimal(18, 4)) as median_value,
        cast(null as decimal(18, 4)) as max_value,
        'share' as metric_unit
    from flagged_invoices
    group by 1, 2, 3, 4

),

---------- identity

identity_records as (

    select
        'customer' as entity,
        source_system,
        source_record_id,
        created_at,
        case when match_status in ('unmatched', 'ambiguous') then 1 else 0 end as is_unmatched
    from customers

    union all

    select
        'resource' as entity,
        source_system,
        source_record_id,
        created_at,
        case when match_status in ('unmatched', 'ambiguous') then 1 else 0 end as is_unmatched
    from resources

    {%- for system, flag, id_column, created_column, unmatched in [
        ('hubspot', 'is_in_crm', 'crm_deal_id', 'crm_deal_created_at',
            "match_status in ('not_set_up', 'partial')"),
        ('kantata', 'is_in_psa', 'psa_workspace_id', 'psa_workspace_created_at', 'not is_in_crm'),
        ('harvest', 'is_in_harvest', 'harvest_project_id', 'harvest_project_created_at',
            'not is_in_crm'),
        ('netsuite', 'is_in_erp', 'erp_job_id', 'erp_job_created_at', 'not is_in_crm'),
    ] %}

    union all

    select
        'project' as entity,
        '{{ system }}' as source_system,
        cast({{ id_column }} as {{ dbt.type_string() }}) as source_record_id,
        {{ created_column }} as created_at,
        case when {{ unmatched }} then 1 else 0 end as is_unmatched
    from projects
    where {{ flag }}
    {%- endfor %}

),

latest as (

    select max(created_at) as latest_at from identity_records

),

dated_records as (

    select
        identity_records.*,
        case when reviewed.source_record_id is not null then 1 else 0 end as is_for_review,
        cast(
            {{ dbt.date_trunc('month', 'coalesce(identity_records.created_at, latest.latest_at)') }}
            as date
        ) as month_on
    from identity_records
    cross join latest
    left join (
        select distinct entity, source_system, source_record_id from reviews
    ) as reviewed
        on identity_records.entity = reviewed.entity
        and identity_records.source_system = reviewed.source_system
        and identity_records.source_record_id = reviewed.source_record_id

),

identity_metrics as (

    {%- for metric, flag in [('unmatched_records', 'is_unmatched'), ('records_for_review', 'is_for_review')] %}
    {% if not loop.first %}union all{% endif %}
    select
        '{{ metric }}' as metric_name,
        entity,
        source_system,
        month_on,
        count(*) as measured_count,
        cast(sum({{ flag }}) as bigint) as exception_count,
        cast(sum({{ flag }}) as decimal(18, 4)) as metric_value,
        cast(null as decimal(18, 4)) as median_value,
        cast(null as decimal(18, 4)) as max_value,
        'records' as metric_unit
    from dated_records
    group by 1, 2, 3, 4
    {%- endfor %}

),

---------- rate cards

rate_periods_compared as (

    select
        cast({{ dbt.date_trunc('month', 'valid_from') }} as date) as month_on,
        count(*) as measured_count
    from rate_comparisons
    group by 1

),

rate_periods_disagreeing as (

    select
        cast({{ dbt.date_trunc('month', 'valid_from') }} as date) as month_on,
        count(*) as exception_count
    from rate_disagreements
    group by 1

),

rate_card_metrics as (

    select
        'rate_card_disagreements' as metric_name,
        'rate_card' as entity,
        'kantata' as source_system,
        rate_periods_compared.month_on,
        rate_periods_compared.measured_count,
        cast(coalesce(rate_periods_disagreeing.exception_count, 0) as bigint) as exception_count,
        cast(coalesce(rate_periods_disagreeing.exception_count, 0) as decimal(18, 4))
            as metric_value,
        cast(null as decimal(18, 4)) as median_value,
        cast(null as decimal(18, 4)) as max_value,
        'records' as metric_unit
    from rate_periods_compared
    left join rate_periods_disagreeing
        on rate_periods_disagreeing.month_on = rate_periods_compared.month_on

),

metrics as (

    select * from duration_metrics
    union all
    select * from invoice_metrics
    union all
    select * from identity_metrics
    union all
    select * from rate_card_metrics

),

final as (

    select

        ---------- ids
        {{ dbt.concat([
            'metric_name', "':'", 'entity', "':'", 'source_system', "':'",
            dbt.cast('month_on', dbt.type_string()),
        ]) }} as integration_health_id,

        ---------- text
        metric_name,
        entity,
        source_system,
        metric_unit,

        ---------- numerics
        measured_count,
        exception_count,
        metric_value,
        median_value,
        max_value,

        ---------- dates
        month_on

    from metrics

)

select * from final
