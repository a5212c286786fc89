{{ config(
    materialized='incremental',
    incremental_strategy='replace_window',
    meta={'window_column': 'month'},
    on_schema_change='fail',
) }}
-- One row per green-taxi trip, typed as the original's analytics.nyc_taxi: amounts as decimals with two places,
-- the pickup and dropoff as timestamps and as dates. Partitioned by month; a run replaces exactly its months.

with trips as (

    select *
    from {{ source('nyc', 'green_trips') }}
    -- month is a date; the window's bounds are timestamps, which BigQuery does not compare with a date
    where
        month >= cast({{ window_timestamp('min_date') }} as date)
        and month < cast({{ window_timestamp('max_date') }} as date)

),

final as (

    select
        cast(vendorid as {{ dbt.type_string() }}) as vendor_id,
        cast(lpep_pickup_datetime as {{ dbt.type_timestamp() }}) as lpep_pickup_ts,
        cast(lpep_dropoff_datetime as {{ dbt.type_timestamp() }}) as lpep_dropoff_ts,
        cast(lpep_pickup_datetime as date) as lpep_pickup_date,
        cast(lpep_dropoff_datetime as date) as lpep_dropoff_date,
        cast(passenger_count as integer) as passenger_count,
        cast(trip_distance as numeric(15, 2)) as trip_distance,
        cast(ratecodeid as integer) as rate_code_id,
        cast(store_and_fwd_flag as {{ dbt.type_string() }}) as store_and_fwd_flag,
        cast(pulocationid as integer) as pu_location_id,
        cast(dolocationid as integer) as do_location_id,
        cast(payment_type as integer) as payment_type,
        cast(fare_amount as numeric(15, 2)) as fare_amount,
        cast(extra as numeric(15, 2)) as extra,
        cast(mta_tax as numeric(15, 2)) as mta_tax,
        cast(tip_amount as numeric(15, 2)) as tip_amount,
        cast(tolls_amount as numeric(15, 2)) as tolls_amount,
        cast(ehail_fee as numeric(15, 2)) as ehail_fee,
        cast(improvement_surcharge as numeric(15, 2)) as improvement_surcharge,
        cast(total_amount as numeric(15, 2)) as total_amount,
        cast(trip_type as integer) as trip_type,
        -- the window column, a timestamp (midnight of the month's first day) as replace_window compares it
        cast(month as {{ dbt.type_timestamp() }}) as month,
        source_file,
        source_row,
        cast('dbt data_platform nyc_taxi' as {{ dbt.type_string() }}) as create_process,
        {{ utc_now() }} as create_ts
    from trips

)

select * from final
