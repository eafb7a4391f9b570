{#-
    count(distinct <expression>) over (partition by <partition_by>), portably: Postgres has no
    DISTINCT in window functions. Two dense ranks, one each way, add up to the number of
    distinct values plus one; nulls (ranked first one way, last the other) are taken out, as
    count(distinct) leaves them out.
-#}
{% macro count_distinct_over(expression, partition_by) -%}
    (
        dense_rank() over (partition by {{ partition_by }} order by {{ expression }} asc nulls first)
        + dense_rank() over (partition by {{ partition_by }} order by {{ expression }} desc nulls last)
        - 1
        - max(case when {{ expression }} is null then 1 else 0 end) over (partition by {{ partition_by }})
    )
{%- endmacro %}
