{# Snowflake: epoch milliseconds as a TIMESTAMP_NTZ (UTC wall time), keeping the milliseconds (scale 3). #}
{% macro snowflake__epoch_ms_to_timestamp(column) -%}
    to_timestamp_ntz({{ column }}, 3)
{%- endmacro %}
