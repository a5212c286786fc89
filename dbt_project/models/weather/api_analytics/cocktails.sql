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
        drinks
    from {{ source('api_staging', 'cocktails_stage') }}
    where run_hr >= {{ window_run_hr('min_date') }} and run_hr < {{ window_run_hr('max_date') }}

),

drinks as (

    select
        run_hr,
        source_key,
        element as drink
    from {{ json_array_rows('answers', 'drinks') }} as d

),

final as (

    select
        run_hr,
        {{ json_text('drink', ['idDrink']) }} as drink_id,
        {{ json_text('drink', ['strDrink']) }} as drink_name,
        {{ json_text('drink', ['strCategory']) }} as category,
        {{ json_text('drink', ['strAlcoholic']) }} as alcoholic,
        {{ json_text('drink', ['strGlass']) }} as glass,
        {{ json_text('drink', ['strInstructions']) }} as instructions,
        {%- for n in range(1, 16) %}
            {{ json_text('drink', ['strIngredient' ~ n]) }} as ingredient_{{ n }},
            {{ json_text('drink', ['strMeasure' ~ n]) }} as measure_{{ n }},
        {%- endfor %}
        source_key
    from drinks

)

select * from final
