{#
  Date parts the NYC-taxi models need beyond timestamps.sql, the same on every warehouse: the day of the year
  from 1 (BigQuery spells the part `dayofyear`, the others accept `doy`), and the current UTC wall time as a
  timestamp without time zone (a row's create_ts). DuckDB's and Postgres's current_timestamp carries the
  session's zone, Snowflake's is in the session's zone (America/Los_Angeles unless set), Redshift's getdate()
  is in the session's zone (UTC unless set), BigQuery's TIMESTAMP is UTC.
#}
{% macro day_of_year(column) -%}
    {{ return(adapter.dispatch('day_of_year')(column)) }}
{%- endmacro %}

{% macro default__day_of_year(column) -%}
    cast(extract(doy from {{ column }}) as integer)
{%- endmacro %}

{% macro bigquery__day_of_year(column) -%}
    extract(dayofyear from {{ column }})
{%- endmacro %}

{% macro utc_now() -%}
    {{ return(adapter.dispatch('utc_now')()) }}
{%- endmacro %}

{% macro default__utc_now() -%}
    cast(current_timestamp at time zone 'UTC' as timestamp)
{%- endmacro %}

{% macro redshift__utc_now() -%}
    getdate()
{%- endmacro %}

{% macro snowflake__utc_now() -%}
    cast(convert_timezone('UTC', current_timestamp()) as timestamp_ntz)
{%- endmacro %}

{% macro bigquery__utc_now() -%}
    current_timestamp()
{%- endmacro %}
