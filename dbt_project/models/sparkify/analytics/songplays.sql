{{ config(
    materialized='incremental',
    incremental_strategy='replace_window',
    meta={'window_column': 'start_time'},
    on_schema_change='fail',
) }}
-- The dimensions are built before the fact so its relationship tests see them:
-- depends_on: {{ ref('users') }}, {{ ref('songs') }}, {{ ref('artists') }}

with plays as (

    select *
    from {{ source('staging', 'staging_events') }}
    where
        page = 'NextSong'
        and ts >= {{ window_epoch_ms('min_date') }}
        and ts < {{ window_epoch_ms('max_date') }}

),

-- One candidate per (title, artist name, duration): a song copied into two files must not double a play.
song_matches as (

    select
        title,
        artist_name,
        duration,
        song_id,
        artist_id
    from (
        select
            title,
            artist_name,
            duration,
            song_id,
            artist_id,
            row_number() over (
                partition by title, artist_name, {{ double_partition_key('duration') }}
                order by song_id, artist_id
            ) as candidate
        from {{ source('staging', 'staging_songs') }}
    ) as ranked
    where candidate = 1

),

timed_plays as (

    select
        plays.*,
        {{ epoch_ms_to_timestamp('plays.ts') }} as start_time
    from plays

),

final as (

    select
        {{ dbt.hash(dbt.concat([
            "cast(timed_plays.session_id as " ~ dbt.type_string() ~ ")",
            timestamp_text("timed_plays.start_time"),
        ])) }} as songplay_id,
        timed_plays.start_time,
        nullif(timed_plays.user_id, '') as user_id,
        timed_plays.level,
        song_matches.song_id,
        song_matches.artist_id,
        timed_plays.session_id,
        timed_plays.location,
        timed_plays.user_agent
    from timed_plays
    left join song_matches
        on
            timed_plays.song = song_matches.title
            and timed_plays.artist = song_matches.artist_name
            and timed_plays.length = song_matches.duration

)

select * from final
