-- One row per song_id: a song copied into several files is kept once.
with ranked as (

    select
        song_id,
        title,
        artist_id,
        year,
        duration,
        row_number() over (partition by song_id order by title, artist_id, year, duration) as copy
    from {{ source('staging', 'staging_songs') }}

),

final as (

    select
        song_id,
        title,
        artist_id,
        year,
        duration
    from ranked
    where copy = 1

)

select * from final
