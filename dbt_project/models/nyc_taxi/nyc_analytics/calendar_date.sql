-- A calendar of 14,000 consecutive days from 1987-01-01 (to 2025-04-30), one row per day, with the parts the
-- original's Snowflake calendar_date had. The days come from a cross join of digits, which every warehouse runs.
{%- set first_day = '1987-01-01' %}
{%- set day_count = 14000 %}

with digits as (

    select 0 as digit
    union all
    select 1
    union all
    select 2
    union all
    select 3
    union all
    select 4
    union all
    select 5
    union all
    select 6
    union all
    select 7
    union all
    select 8
    union all
    select 9

),

day_numbers as (

    select
        ones.digit
        + 10 * tens.digit
        + 100 * hundreds.digit
        + 1000 * thousands.digit
        + 10000 * ten_thousands.digit as day_number
    from digits as ones
    cross join digits as tens
    cross join digits as hundreds
    cross join digits as thousands
    cross join digits as ten_thousands

),

days as (

    select
        cast({{ dbt.dateadd('day', 'day_number', "cast('" ~ first_day ~ "' as date)") }} as date) as cal_date
    from day_numbers
    where day_number < {{ day_count }}

),

parts as (

    select
        cal_date,
        cast(extract(year from cal_date) as integer) as year,
        cast(extract(month from cal_date) as integer) as month,
        cast(extract(quarter from cal_date) as integer) as quarter,
        cast(extract(day from cal_date) as integer) as day_of_mon,
        {{ day_of_week('cal_date') }} as day_of_week,
        {{ iso_week('cal_date') }} as week_of_year,
        {{ day_of_year('cal_date') }} as day_of_year
    from days

),

final as (

    select
        cal_date,
        year,
        month,
        -- Snowflake's monthname(): the English three-letter abbreviation, whatever the session's language
        cast(case month
            when 1 then 'Jan'
            when 2 then 'Feb'
            when 3 then 'Mar'
            when 4 then 'Apr'
            when 5 then 'May'
            when 6 then 'Jun'
            when 7 then 'Jul'
            when 8 then 'Aug'
            when 9 then 'Sep'
            when 10 then 'Oct'
            when 11 then 'Nov'
            when 12 then 'Dec'
        end as {{ dbt.type_string() }}) as month_name,
        quarter,
        cast({{ dbt.concat(["'Q'", "cast(quarter as " ~ dbt.type_string() ~ ")"]) }} as {{ dbt.type_string() }})
            as quarter_name,
        cast({{ dbt.concat([
            "'Q'", "cast(quarter as " ~ dbt.type_string() ~ ")", "'-'", "cast(year as " ~ dbt.type_string() ~ ")",
        ]) }} as {{ dbt.type_string() }}) as quarter_name_full,
        day_of_mon,
        -- text, as the original's dayofweek(cal_date)::string: '0' = Sunday to '6' = Saturday
        cast(day_of_week as {{ dbt.type_string() }}) as day_of_week,
        week_of_year,
        day_of_year,
        cast('dbt data_platform calendar_date' as {{ dbt.type_string() }}) as create_process,
        {{ utc_now() }} as create_ts
    from parts

)

select * from final
