{#- BI tools read `marts.<table>`: use the folder's schema name as is, not prefixed with the
    target's schema (dbt's default would make it `main_marts`). -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
