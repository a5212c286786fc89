-- One row per user seen playing a song, with their details from their latest play (by ts).
with plays as (

    select
        user_id, first_name, last_name, gender, level,
        row_number() over (
            partition by user_id order by ts desc, session_id desc, item_in_session desc
        ) as recency
    from {{ source('staging', 'staging_events') }}
    where page = 'NextSong' and user_id <> ''

),

final as (

    select user_id, first_name, last_name, gender, level
    from plays
    where recency = 1

)

select * from final
