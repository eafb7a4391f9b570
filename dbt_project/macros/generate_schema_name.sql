{#- Models land in the schema their folder names (staging, marts), not <target>_<folder>:
    the warehouse is shared by the raw_<system> schemas dlt writes and the layers dbt builds. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name if custom_schema_name else target.schema }}
{%- endmacro %}
