{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='user_id',
    on_schema_change='fail',
) }}
-- One row per user seen playing a song, with their details from their latest play (by ts).
-- Partitioned by day like songplays, but keyed by user: a run recomputes each user who played in its
-- window from all of that user's staged plays and replaces their row (delete+insert on user_id), so days
-- loaded in any order, or loaded again, give the same table. Users who did not play in the window are
-- not read. Without a window (a plain `dbt build`) that is every user.
with plays as (

    select
        user_id,
        first_name,
        last_name,
        gender,
        level,
        row_number() over (
            partition by user_id order by ts desc, session_id desc, item_in_session desc
        ) as recency
    from {{ source('staging', 'staging_events') }}
    where
        page = 'NextSong' and user_id <> ''
        and user_id in (
            select window_plays.user_id
            from {{ source('staging', 'staging_events') }} as window_plays
            where
                window_plays.page = 'NextSong'
                and window_plays.ts >= {{ window_epoch_ms('min_date') }}
                and window_plays.ts < {{ window_epoch_ms('max_date') }}
        )

),

final as (

    select
        user_id,
        first_name,
        last_name,
        gender,
        level
    from plays
    where recency = 1

)

select * from final
