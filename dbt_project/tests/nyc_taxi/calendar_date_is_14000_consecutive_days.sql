-- calendar_date holds exactly the original's 14,000 days from 1987-01-01. With cal_date unique and not null (its
-- column tests), 14,000 rows from 1987-01-01 to a day 13,999 days later leave no gap. Returns the row when not.
select
    days,
    first_day,
    last_day
from (
    select
        count(*) as days,
        min(cal_date) as first_day,
        max(cal_date) as last_day,
        {{ dbt.datediff('min(cal_date)', 'max(cal_date)', 'day') }} as span
    from {{ ref('calendar_date') }}
) as calendar
where days != 14000 or first_day != cast('1987-01-01' as date) or span != 13999
