"""Where an hour's API answers live in the lake (API_DATA_URI), in the original's layout:
`weather/YYYYMMDDHH00/<city_slug>.json`, `cocktails/YYYYMMDDHH00/cocktails.json`, and the hour's city list
`cities/YYYYMMDDHH00/cities.json` (kept so an hour is reproducible without calling the API again)."""

import datetime as dt
import re
import unicodedata

from pipeline.defs.weather.partitions import run_hr

# Each raw asset's objects, an hour's folder each under its prefix.
CITIES_PREFIX = "cities/"
WEATHER_PREFIX = "weather/"
COCKTAILS_PREFIX = "cocktails/"


def city_slug(city: str) -> str:
    """Lower-case ASCII with `_` ("São Paulo" -> "sao_paulo"); the name itself stays as served in the data."""
    ascii_name = unicodedata.normalize("NFKD", city).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")
    if not slug:
        raise ValueError(f"city name {city!r} has no letter or digit to name its file by")
    return slug


def cities_key(hour: dt.datetime) -> str:
    return f"{CITIES_PREFIX}{run_hr(hour)}/cities.json"


def weather_key(hour: dt.datetime, city: str) -> str:
    return f"{WEATHER_PREFIX}{run_hr(hour)}/{city_slug(city)}.json"


def cocktails_key(hour: dt.datetime) -> str:
    return f"{COCKTAILS_PREFIX}{run_hr(hour)}/cocktails.json"
