{#
  Values the models derive from a timestamp, the same on every warehouse: the text a songplay id hashes (DuckDB's
  and Postgres's rendering, the fraction without trailing zeros), the ISO week, the day of the week from 0
  (Sunday). BigQuery's cast to string appends "+00", its `extract(week)` counts Sunday weeks and its day of
  week starts at 1; the default is what DuckDB, Postgres and Redshift do.
#}
{% macro timestamp_text(column) -%}
    {{ return(adapter.dispatch('timestamp_text')(column)) }}
{%- endmacro %}

{% macro default__timestamp_text(column) -%}
    cast({{ column }} as {{ dbt.type_string() }})
{%- endmacro %}

{% macro bigquery__timestamp_text(column) -%}
    {%- set millis = 'mod(unix_millis(' ~ column ~ '), 1000)' -%}
    concat(
        format_timestamp('%F %T', {{ column }}, 'UTC'),
        if({{ millis }} = 0, '', concat('.', rtrim(lpad(cast({{ millis }} as string), 3, '0'), '0')))
    )
{%- endmacro %}

{% macro iso_week(column) -%}
    {{ return(adapter.dispatch('iso_week')(column)) }}
{%- endmacro %}

{% macro default__iso_week(column) -%}
    cast(extract(week from {{ column }}) as integer)
{%- endmacro %}

{% macro bigquery__iso_week(column) -%}
    extract(isoweek from {{ column }})
{%- endmacro %}

{% macro day_of_week(column) -%}
    {{ return(adapter.dispatch('day_of_week')(column)) }}
{%- endmacro %}

{% macro default__day_of_week(column) -%}
    cast(extract(dow from {{ column }}) as integer)
{%- endmacro %}

{% macro bigquery__day_of_week(column) -%}
    (extract(dayofweek from {{ column }}) - 1)
{%- endmacro %}

{# A double as a window's partition key: BigQuery refuses to partition by FLOAT64, its exact text groups alike. #}
{% macro double_partition_key(column) -%}
    {{ return(adapter.dispatch('double_partition_key')(column)) }}
{%- endmacro %}

{% macro default__double_partition_key(column) -%}
    {{ column }}
{%- endmacro %}

{% macro bigquery__double_partition_key(column) -%}
    cast({{ column }} as string)
{%- endmacro %}
