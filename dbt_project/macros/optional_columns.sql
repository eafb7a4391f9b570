{#-
    SuiteQL leaves null fields out of its rows, and dlt only creates a column once a value has
    arrived, so a field no record has filled in yet has no raw column. Returns, for each named
    column, the column itself if the relation has it and `null` if not, to read as
    `{{ optional['externalid'] }}`. In a unit test `source()` is the fixture and every column
    is read: give such a model's input as SQL that holds them.
-#}
{% macro optional_columns(relation, columns) -%}
    {%- set present = none -%}
    {%- if execute and model.resource_type != 'unit_test' -%}
        {%- set present = adapter.get_columns_in_relation(relation)
            | map(attribute='name') | map('lower') | list -%}
    {%- endif -%}
    {%- set chosen = {} -%}
    {%- for column in columns -%}
        {%- do chosen.update({column: column if present is none or column in present else 'null'}) -%}
    {%- endfor -%}
    {{ return(chosen) }}
{%- endmacro %}
