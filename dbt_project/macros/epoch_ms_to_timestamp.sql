{# A UTC timestamp (without time zone) from epoch milliseconds, keeping the milliseconds. #}
{% macro epoch_ms_to_timestamp(column) -%}
    {{ return(adapter.dispatch('epoch_ms_to_timestamp')(column)) }}
{%- endmacro %}

{% macro default__epoch_ms_to_timestamp(column) -%}
    (timestamp '1970-01-01 00:00:00' + {{ column }} * interval '1 millisecond')
{%- endmacro %}

{% macro duckdb__epoch_ms_to_timestamp(column) -%}
    epoch_ms({{ column }})
{%- endmacro %}

{% macro redshift__epoch_ms_to_timestamp(column) -%}
    {#- Redshift's interval arithmetic takes whole units; split seconds and milliseconds. -#}
    (timestamp 'epoch' + ({{ column }} / 1000) * interval '1 second' + ({{ column }} % 1000) * interval '1 millisecond')
{%- endmacro %}
