{#-
    The newest row per key of a raw table. dlt merges raw tables on their keys, so a key is
    normally there once; this keeps staging right when it is not (a month-end reload and a
    nightly run landing the same record, a table loaded before its key was declared). Portable:
    row_number, no `qualify` (Postgres has none).
-#}
{% macro latest_by_key(relation, key, order_by='_dlt_load_id desc') -%}
    select * from (
        select
            *,
            row_number() over (partition by {{ key }} order by {{ order_by }}) as _row_rank
        from {{ relation }}
    ) as ranked
    where _row_rank = 1
{%- endmacro %}
