{#
  The run's partition window [min_date, max_date), as dates in the environment variables
  DBT_WINDOW_START and DBT_WINDOW_END that Dagster sets for each run (unset: every day).
  Environment variables, not dbt vars: a change of `--vars` makes dbt re-parse the whole project
  (~1.5 s per invocation). They are read only when dbt executes (`execute`), never while it parses:
  an env_var read at parse time is recorded, and a new value re-parses every file that read it
  (~0.8 s per invocation, every new day). Parsing sees the every-day default, which changes no ref or config.
  Incremental models read only the window and the replace_window strategy replaces exactly it,
  so re-running a day any number of times gives the same table.
#}
{% macro window_date(name) -%}
    {#- A day (YYYY-MM-DD) or an hour (YYYY-MM-DDTHH:MM), as hourly pipelines give. -#}
    {%- set variable, default = {
        'min_date': ('DBT_WINDOW_START', '1970-01-01'),
        'max_date': ('DBT_WINDOW_END', '9999-12-31'),
    }[name] -%}
    {%- set value = (env_var(variable, default) if execute else default) | string -%}
    {%- if modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', value) -%}
        {{ return(modules.datetime.datetime.strptime(value, '%Y-%m-%d')) }}
    {%- elif modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:00$', value) -%}
        {{ return(modules.datetime.datetime.strptime(value, '%Y-%m-%dT%H:%M')) }}
    {%- endif -%}
    {{ exceptions.raise_compiler_error(variable ~ " must be a date YYYY-MM-DD or an hour YYYY-MM-DDTHH:00, got " ~ value) }}
{%- endmacro %}

{# The window as the weather pipeline's run_hr numbers (YYYYMMDDHH00). #}
{% macro window_run_hr(name) -%}
    {{ return(window_date(name).strftime('%Y%m%d%H00')) }}
{%- endmacro %}

{% macro window_epoch_ms(name) -%}
    {%- set epoch = modules.datetime.datetime(1970, 1, 1) -%}
    {{ return(((window_date(name) - epoch).days * 86400000) | string) }}
{%- endmacro %}

{% macro window_timestamp(name) -%}
    cast('{{ window_date(name).strftime("%Y-%m-%d") }}' as timestamp)
{%- endmacro %}

{# Custom incremental strategy: delete the window's rows, then insert the new ones, in one transaction.
   dbt looks the strategy up as get_incremental_replace_window_sql; dispatch lets a warehouse wrap it. #}
{% macro get_incremental_replace_window_sql(arg_dict) -%}
    {{ return(adapter.dispatch('get_incremental_replace_window_sql')(arg_dict)) }}
{%- endmacro %}

{% macro default__get_incremental_replace_window_sql(arg_dict) -%}
    {%- set column = config.require('meta')['window_column'] -%}
    delete from {{ arg_dict['target_relation'] }}
    where {{ column }} >= {{ window_bound('min_date') }} and {{ column }} < {{ window_bound('max_date') }};
    {{ get_incremental_append_sql(arg_dict) }}
{%- endmacro %}

{# A bound of the window in the window column's terms: a timestamp, or a run_hr number (meta window_type: run_hr). #}
{% macro window_bound(name) -%}
    {%- if config.get('meta', {}).get('window_type') == 'run_hr' -%}
        {{ window_run_hr(name) }}
    {%- else -%}
        {{ window_timestamp(name) }}
    {%- endif -%}
{%- endmacro %}
