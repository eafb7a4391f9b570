{#-
    The one candidate that outscores every other for its record, from a CTE ranked by
    `score_rank` (1 = best) per `record_key`. A tie for first links nothing: the record is
    ambiguous and goes to review instead of being merged on a coin toss.
-#}
{% macro sole_leader(ranked, record_key) -%}
    select {{ ranked }}.*
    from {{ ranked }}
    inner join (
        select {{ record_key }}
        from {{ ranked }}
        where score_rank = 1
        group by {{ record_key }}
        having count(*) = 1
    ) as sole on {{ ranked }}.{{ record_key }} = sole.{{ record_key }}
    where {{ ranked }}.score_rank = 1
{%- endmacro %}
