{{ config(
    materialized='incremental',
    incremental_strategy='replace_window',
    meta={'window_column': 'run_hr', 'window_type': 'run_hr'},
    on_schema_change='fail',
) }}

with answers as (

    select
        run_hr,
        source_key,
        location,
        {{ adapter.quote('current') }} as readings
    from {{ source('api_staging', 'weather_stage') }}
    where run_hr >= {{ window_run_hr('min_date') }} and run_hr < {{ window_run_hr('max_date') }}

),

final as (

    select
        run_hr,
        source_key,
        {{ json_text('location', ['name']) }} as location_name,
        {{ json_text('location', ['country']) }} as country,
        -- weatherapi writes local time as "2026-11-30 9:37": the date, plus the hour before the colon
        {{ dbt.dateadd(
            'hour',
            'cast(' ~ dbt.split_part(dbt.split_part(json_text('location', ['localtime']), "' '", 2), "':'", 1)
                ~ ' as ' ~ dbt.type_int() ~ ')',
            'cast(' ~ dbt.split_part(json_text('location', ['localtime']), "' '", 1) ~ ' as ' ~ dbt.type_timestamp() ~ ')',
        ) }} as local_hour,
        {{ json_text('readings', ['condition', 'text']) }} as condition_text,
        {{ json_text('readings', ['wind_dir']) }} as wind_dir,
        cast({{ json_text('readings', ['temp_c']) }} as {{ type_double() }}) as temp_c,
        cast({{ json_text('readings', ['temp_f']) }} as {{ type_double() }}) as temp_f,
        cast({{ json_text('readings', ['is_day']) }} as {{ dbt.type_int() }}) as is_day,
        cast({{ json_text('readings', ['wind_mph']) }} as {{ type_double() }}) as wind_mph,
        cast({{ json_text('readings', ['wind_kph']) }} as {{ type_double() }}) as wind_kph,
        cast({{ json_text('readings', ['wind_degree']) }} as {{ dbt.type_int() }}) as wind_degree,
        cast({{ json_text('readings', ['pressure_mb']) }} as {{ type_double() }}) as pressure_mb,
        cast({{ json_text('readings', ['pressure_in']) }} as {{ type_double() }}) as pressure_in,
        cast({{ json_text('readings', ['precip_mm']) }} as {{ type_double() }}) as precip_mm,
        cast({{ json_text('readings', ['humidity']) }} as {{ dbt.type_int() }}) as humidity,
        cast({{ json_text('readings', ['cloud']) }} as {{ dbt.type_int() }}) as cloud,
        cast({{ json_text('readings', ['feelslike_c']) }} as {{ type_double() }}) as feelslike_c,
        cast({{ json_text('readings', ['feelslike_f']) }} as {{ type_double() }}) as feelslike_f,
        cast({{ json_text('readings', ['vis_km']) }} as {{ type_double() }}) as vis_km,
        cast({{ json_text('readings', ['vis_miles']) }} as {{ type_double() }}) as vis_miles,
        cast({{ json_text('readings', ['uv']) }} as {{ type_double() }}) as uv,
        cast({{ json_text('readings', ['gust_mph']) }} as {{ type_double() }}) as gust_mph,
        cast({{ json_text('readings', ['gust_kph']) }} as {{ type_double() }}) as gust_kph
    from answers

)

select * from final
