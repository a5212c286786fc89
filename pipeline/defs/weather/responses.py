"""What a usable answer of each API looks like: checked before it is written to the lake, and again before a
stored object is trusted. A 200 carrying `{"message": "Too many requests"}` is not weather."""

from pipeline.defs.weather.layout import city_slug

WEATHER_NUMBERS = (
    "temp_c", "temp_f", "is_day", "wind_mph", "wind_kph", "wind_degree", "pressure_mb", "pressure_in",
    "humidity", "cloud", "feelslike_c", "feelslike_f", "vis_km", "vis_miles", "uv", "gust_mph", "gust_kph",
)  # fmt: skip


class InvalidResponse(ValueError):
    """An answer that parses but is not what the models need; the message says which field."""


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _text(value) -> bool:
    return isinstance(value, str) and value.strip() != ""


def check_cities(payload) -> list[str]:
    """The city names, in the API's order: a non-empty JSON list of distinct names with distinct file names."""
    if not isinstance(payload, list) or not payload:
        raise InvalidResponse(f"expected a non-empty JSON list of city names, found {type(payload).__name__}")
    slugs: dict[str, str] = {}
    for city in payload:
        if not _text(city):
            raise InvalidResponse(f"expected city names, found {city!r}")
        slug = city_slug(city)
        if slug in slugs:
            raise InvalidResponse(f"cities {slugs[slug]!r} and {city!r} would share the file {slug}.json")
        slugs[slug] = city
    return list(payload)


def check_weather(payload) -> dict:
    """weatherapi.com's current.json: location.name and localtime, and current's readings the models type."""
    if not isinstance(payload, dict):
        raise InvalidResponse(f"expected a JSON object, found {type(payload).__name__}")
    if "error" in payload or "message" in payload and "current" not in payload:
        raise InvalidResponse(f"the API answered with an error object: {str(payload)[:200]}")
    location, current = payload.get("location"), payload.get("current")
    if not isinstance(location, dict) or not isinstance(current, dict):
        raise InvalidResponse("expected 'location' and 'current' objects")
    for field in ("name", "localtime"):
        if not _text(location.get(field)):
            raise InvalidResponse(f"location.{field} is missing or empty")
    for field in WEATHER_NUMBERS:
        if not _number(current.get(field)):
            raise InvalidResponse(f"current.{field} is not a number: {current.get(field)!r}")
    if not isinstance(current.get("condition"), dict) or not _text(current["condition"].get("text")):
        raise InvalidResponse("current.condition.text is missing or empty")
    if not _text(current.get("wind_dir")):
        raise InvalidResponse("current.wind_dir is missing or empty")
    return payload


def check_cocktails(payload) -> dict:
    """TheCocktailDB's latest.php: {"drinks": [...]}, each drink with its id and name."""
    if not isinstance(payload, dict) or not isinstance(payload.get("drinks"), list):
        raise InvalidResponse(f'expected {{"drinks": [...]}}, found {str(payload)[:200]}')
    for n, drink in enumerate(payload["drinks"]):
        if not isinstance(drink, dict) or not _text(drink.get("idDrink")) or not _text(drink.get("strDrink")):
            raise InvalidResponse(f"drink {n} has no idDrink or strDrink")
    return payload
