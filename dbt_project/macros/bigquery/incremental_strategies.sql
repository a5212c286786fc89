{#
  dbt-bigquery's incremental materialization accepts only merge, insert_overwrite and microbatch, and
  builds anything else as a merge. These two macros replace its own (the root project's macro of the same
  name wins) so that the project's strategies run on BigQuery too: replace_window (partition_window.sql)
  and dbt's delete+insert, each as one multi-statement transaction. The others go to dbt-bigquery's code.
#}
{% macro dbt_bigquery_validate_get_incremental_strategy(config) %}
    {%- set strategy = config.get("incremental_strategy") or 'merge' -%}
    {%- if strategy in ['replace_window', 'delete+insert'] -%}
        {{ return(strategy) }}
    {%- endif -%}
    {{ return(dbt_bigquery.dbt_bigquery_validate_get_incremental_strategy(config)) }}
{% endmacro %}

{% macro bq_generate_incremental_build_sql(
    strategy, tmp_relation, target_relation, sql, unique_key, partition_by, partitions, dest_columns,
    tmp_relation_exists, copy_partitions, incremental_predicates
) %}
    {%- if strategy not in ['replace_window', 'delete+insert'] -%}
        {{ return(dbt_bigquery.bq_generate_incremental_build_sql(
            strategy, tmp_relation, target_relation, sql, unique_key, partition_by, partitions, dest_columns,
            tmp_relation_exists, copy_partitions, incremental_predicates
        )) }}
    {%- endif -%}
    {%- set arg_dict = {
        'target_relation': target_relation,
        'temp_relation': tmp_relation if tmp_relation_exists else '(' ~ sql ~ ')',
        'unique_key': unique_key,
        'dest_columns': dest_columns,
        'incremental_predicates': incremental_predicates,
    } -%}
    {%- if strategy == 'replace_window' -%}
        {%- set body = default__get_incremental_replace_window_sql(arg_dict) -%}
    {%- else -%}
        {%- set body = get_incremental_delete_insert_sql(arg_dict) -%}
    {%- endif -%}
    {{ return('begin transaction;\n' ~ body ~ ';\ncommit transaction;') }}
{% endmacro %}
