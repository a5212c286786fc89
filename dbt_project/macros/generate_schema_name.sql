{# Models land in the schema they name (analytics), not "<target schema>_analytics": the names are part of the contract. #}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ (custom_schema_name or target.schema) | trim }}
{%- endmacro %}
