{# BigQuery's TIMESTAMP is UTC; timestamp_millis keeps the milliseconds. #}
{% macro bigquery__epoch_ms_to_timestamp(column) -%}
    timestamp_millis({{ column }})
{%- endmacro %}
