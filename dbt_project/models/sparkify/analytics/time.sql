{{ config(
    materialized='incremental',
    incremental_strategy='replace_window',
    meta={'window_column': 'start_time'},
    on_schema_change='fail',
) }}

with start_times as (

    select distinct start_time
    from {{ ref('songplays') }}
    where
        start_time >= {{ window_timestamp('min_date') }}
        and start_time < {{ window_timestamp('max_date') }}

),

final as (

    select
        start_time,
        cast(extract(hour from start_time) as integer) as hour,
        cast(extract(day from start_time) as integer) as day,
        {{ iso_week('start_time') }} as week,
        cast(extract(month from start_time) as integer) as month,
        cast(extract(year from start_time) as integer) as year,
        {{ day_of_week('start_time') }} as weekday
    from start_times

)

select * from final
