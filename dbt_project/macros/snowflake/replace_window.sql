{#
  The replace_window strategy on Snowflake. dbt-snowflake runs each statement in autocommit, so the
  delete and the insert are wrapped in one explicit transaction: a failed insert leaves the window as it was.
#}
{% macro snowflake__get_incremental_replace_window_sql(arg_dict) -%}
    begin;
    {{ default__get_incremental_replace_window_sql(arg_dict) }};
    commit;
{%- endmacro %}
