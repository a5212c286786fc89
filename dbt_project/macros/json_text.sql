{#
  Reading JSON held as text, the same on every warehouse: json_text(column, path) is the text at a path of
  keys (['current', 'condition', 'text']); json_array_rows(relation, column) is a subquery with every column
  of `relation` plus `element`, one row per element of the JSON array in `column`, as JSON text.
#}
{% macro json_text(column, path) -%}
    {{ return(adapter.dispatch('json_text')(column, path)) }}
{%- endmacro %}

{% macro default__json_text(column, path) -%}
    json_extract_string({{ column }}, '$.{{ path | join(".") }}')
{%- endmacro %}

{% macro postgres__json_text(column, path) -%}
    (cast({{ column }} as json) #>> '{ {{- path | join(",") -}} }')
{%- endmacro %}

{% macro redshift__json_text(column, path) -%}
    json_extract_path_text({{ column }}, '{{ path | join("', '") }}')
{%- endmacro %}

{% macro snowflake__json_text(column, path) -%}
    parse_json({{ column }}):{{ path | join(".") }}::string
{%- endmacro %}

{% macro bigquery__json_text(column, path) -%}
    json_value({{ column }}, '$.{{ path | join(".") }}')
{%- endmacro %}

{% macro json_array_rows(relation, column) -%}
    {{ return(adapter.dispatch('json_array_rows')(relation, column)) }}
{%- endmacro %}

{% macro default__json_array_rows(relation, column) -%}
    (select r.*, cast(e.element as varchar) as element
     from {{ relation }} as r, unnest(cast(json({{ column }}) as json[])) as e (element))
{%- endmacro %}

{% macro postgres__json_array_rows(relation, column) -%}
    (select r.*, e.element::text as element
     from {{ relation }} as r cross join lateral json_array_elements(cast(r.{{ column }} as json)) as e (element))
{%- endmacro %}

{% macro redshift__json_array_rows(relation, column) -%}
    (select r.*, json_serialize(e) as element
     from (select *, json_parse({{ column }}) as elements from {{ relation }}) as r, r.elements as e)
{%- endmacro %}

{% macro snowflake__json_array_rows(relation, column) -%}
    (select r.*, to_json(e.value) as element
     from {{ relation }} as r, lateral flatten(input => parse_json(r.{{ column }})) as e)
{%- endmacro %}

{% macro bigquery__json_array_rows(relation, column) -%}
    (select r.*, element from {{ relation }} as r, unnest(json_query_array(r.{{ column }})) as element)
{%- endmacro %}

{# A 64-bit float on every warehouse (dbt.type_float() is 32-bit on DuckDB). #}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double')()) }}
{%- endmacro %}

{% macro default__type_double() -%} double precision {%- endmacro %}

{% macro bigquery__type_double() -%} float64 {%- endmacro %}

{% macro snowflake__type_double() -%} float {%- endmacro %}
