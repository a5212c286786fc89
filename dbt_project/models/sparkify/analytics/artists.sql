-- One row per artist_id. Song files disagree about an artist's details; the most complete record wins
-- (known coordinates, then a non-empty location), ties broken by name and song so the pick is stable.
with ranked as (

    select
        artist_id,
        artist_name as name,
        artist_location as location,
        artist_latitude as latitude,
        artist_longitude as longitude,
        row_number() over (
            partition by artist_id
            order by
                case when artist_latitude is null then 1 else 0 end,
                case when coalesce(artist_location, '') = '' then 1 else 0 end,
                artist_name, song_id
        ) as completeness
    from {{ source('staging', 'staging_songs') }}

),

final as (

    select
        artist_id,
        name,
        location,
        latitude,
        longitude
    from ranked
    where completeness = 1

)

select * from final
