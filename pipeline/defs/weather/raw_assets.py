"""Raw assets: an hour's API answers, fetched once and kept in the lake as the JSON the API served.

An object already in the lake is used as it is if it is valid, so re-running an hour calls no API. One that
is not (an error body stored by the original pipeline, a cut-off write) is fetched again and replaced,
and reported. Only a recent hour is fetched (WEATHER_FETCH_HOURS): the APIs serve *current* weather, so
an older hour missing from the lake fails rather than storing today's weather under yesterday's hour.
A non-2xx answer, or a 2xx that is not the expected JSON, is never written.
"""

import datetime as dt
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import dagster as dg

from pipeline.defs.weather.layout import (
    CITIES_PREFIX,
    COCKTAILS_PREFIX,
    WEATHER_PREFIX,
    cities_key,
    cocktails_key,
    weather_key,
)
from pipeline.defs.weather.partitions import KEY_FORMAT, hours_of
from pipeline.defs.weather.resources import WeatherApis
from pipeline.defs.weather.responses import InvalidResponse, check_cities, check_cocktails, check_weather
from pipeline.defs.weather.settings import WeatherSettings
from pipeline.lib.http_api import ApiClient, ApiError, parse_json
from pipeline.lib.lake import DataLake, DataLakeResource, open_lake
from pipeline.lib.metadata import URI
from pipeline.lib.pipelines import NoData
from pipeline.lib.retries import retried_on_fault
from pipeline.lib.transient import TransientFault

# Threads fetching one hour's cities: the rate limiter, not the pool, decides the pace.
FETCH_THREADS = 16


class ApiUnavailable(TransientFault):
    """An API kept answering 429 or 5xx (or not at all) past the client's own retries: worth a step retry."""


def fetchable(hour: dt.datetime, fetch_hours: float, now: dt.datetime | None = None) -> bool:
    """Whether the APIs still serve this hour's data: from its start until `fetch_hours` (WEATHER_FETCH_HOURS)
    after."""
    now = now or dt.datetime.now(dt.UTC)
    return hour <= now < hour + dt.timedelta(hours=fetch_hours)


def _stored(lake: DataLake, key: str, check: Callable) -> tuple[object | None, str | None]:
    """(the valid payload, None), or (None, why the stored object is not usable), or (None, None) if absent."""
    try:
        with lake.open(key) as stream:  # one request: no existence check before the read
            data = stream.read()
    except FileNotFoundError:
        return None, None
    try:
        return check(parse_json(data)), None
    except (ValueError, InvalidResponse) as exc:  # not JSON (the original stored Python reprs), or not the format
        return None, f"{lake.uri(key)} is not a valid answer ({exc})"


def stored_or_fetched(
    context: dg.AssetExecutionContext,
    fetch_hours: float,
    lake: DataLake,
    key: str,
    check: Callable,
    fetch: Callable[[], tuple[bytes, object]],
    hour: dt.datetime,
    what: str,
) -> tuple[object, str]:
    """The hour's valid answer and where it came from: "stored", "fetched" or "replaced" (an invalid one)."""
    payload, invalid = _stored(lake, key, check)
    if payload is not None:
        return payload, "stored"
    if not fetchable(hour, fetch_hours):
        state = f"stored object is invalid: {invalid}" if invalid else f"{lake.uri(key)} is not in the lake"
        raise dg.Failure(
            f"{what} for {hour:%Y-%m-%d %H:00} UTC: {state}, and the API serves only current data, so a past hour "
            "is not fetched again",
            allow_retries=False,
        )
    try:
        body, payload = fetch()
        payload = check(payload)
    except InvalidResponse as exc:
        raise ApiError(what, 200, str(exc)) from None
    lake.put(key, body)  # the body as served: it parsed and holds what the models need
    if invalid:
        context.log.warning(f"replaced an invalid stored object: {invalid}")
        return payload, "replaced"
    return payload, "fetched"


def _failed(errors: list[ApiError], hour: dt.datetime) -> Exception:
    message = f"{hour:%Y-%m-%d %H:00} UTC: " + "; ".join(str(e) for e in errors)
    if all(e.retryable for e in errors):
        return ApiUnavailable(message)
    return dg.Failure(message, allow_retries=False)


def _hour_object(context, fetch_hours, lake, key, check, fetch, hour, what) -> tuple[object, str]:
    """stored_or_fetched for an hour's one object (the city list, the drinks): its fault is the hour's."""
    try:
        return stored_or_fetched(context, fetch_hours, lake, key, check, fetch, hour, what)
    except ApiError as exc:
        raise _failed([exc], hour) from exc


def _objects_metadata(counts: Counter) -> dict:
    return {name: counts[name] for name in ("stored", "fetched", "replaced")}


def stored_cities(lake: DataLake, hour: dt.datetime) -> list[str]:
    """The hour's city list as raw/cities kept it; a failure naming the hour if it is missing or invalid."""
    cities, invalid = _stored(lake, cities_key(hour), check_cities)
    if cities is None:
        raise dg.Failure(
            f"no valid city list for {hour:%Y-%m-%d %H:00} UTC "
            f"({invalid or lake.uri(cities_key(hour)) + ' is missing'}): materialize raw/cities for the hour first",
            allow_retries=False,
        )
    return cities


def _fetch_weather(client: ApiClient, url: str, city: str) -> Callable[[], tuple[bytes, object]]:
    return lambda: client.get_json(url, f"weather of {city}", {"q": city})


def raw_assets(settings: WeatherSettings, partitions: dg.PartitionsDefinition, group: str) -> list[dg.AssetsDefinition]:
    """raw/cities, raw/weather and raw/cocktails: an hour's answers, fetched once (while the hour is current)."""

    @dg.asset(
        key=["raw", "cities"],
        group_name=group,
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        kinds={"api", "s3"},
        description="The hour's top cities (CITIES_API_URL), kept as cities/YYYYMMDDHH00/cities.json.",
    )
    @retried_on_fault
    def raw_cities(
        context: dg.AssetExecutionContext, weather_apis: WeatherApis, weather_lake: DataLakeResource
    ) -> dg.MaterializeResult:
        lake, counts = weather_lake.get_lake(), Counter()
        with weather_apis.clients() as clients:
            for hour in hours_of(context):
                cities, source = _hour_object(
                    context,
                    settings.fetch_hours,
                    lake,
                    cities_key(hour),
                    check_cities,
                    lambda: clients.cities.get_json(weather_apis.url("cities"), "the city list"),
                    hour,
                    "the city list",
                )
                counts[source] += 1
                context.log.info(f"{hour:%Y-%m-%d %H:00}: {len(cities)} cities ({source})")
        return dg.MaterializeResult(
            metadata={URI: lake.uri(CITIES_PREFIX), "hours": len(context.partition_keys), **_objects_metadata(counts)}
        )

    @dg.asset(
        key=["raw", "weather"],
        deps=[raw_cities],
        group_name=group,
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        kinds={"api", "s3"},
        description="Current weather of each of the hour's cities (WEATHER_API_URL, weatherapi.com's current.json), "
        "one object per city: weather/YYYYMMDDHH00/<city_slug>.json.",
    )
    @retried_on_fault
    def raw_weather(
        context: dg.AssetExecutionContext, weather_apis: WeatherApis, weather_lake: DataLakeResource
    ) -> dg.MaterializeResult:
        lake, counts = weather_lake.get_lake(), Counter()
        with weather_apis.clients() as clients, ThreadPoolExecutor(FETCH_THREADS) as pool:
            for hour in hours_of(context):
                cities = stored_cities(lake, hour)

                def one(city: str, hour=hour):
                    fetch = _fetch_weather(clients.weather, weather_apis.url("weather"), city)
                    return stored_or_fetched(
                        context,
                        settings.fetch_hours,
                        lake,
                        weather_key(hour, city),
                        check_weather,
                        fetch,
                        hour,
                        f"weather of {city}",
                    )

                futures = [pool.submit(one, city) for city in cities]
                errors = []
                for future in futures:
                    try:
                        _, source = future.result()
                        counts[source] += 1
                    except ApiError as exc:
                        errors.append(exc)
                if errors:  # the cities fetched are kept: a retry fetches only the others
                    raise _failed(errors, hour)
                context.log.info(f"{hour:%Y-%m-%d %H:00}: weather of {len(cities)} cities")
        return dg.MaterializeResult(
            metadata={URI: lake.uri(WEATHER_PREFIX), "hours": len(context.partition_keys), **_objects_metadata(counts)}
        )

    @dg.asset(
        key=["raw", "cocktails"],
        group_name=group,
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        kinds={"api", "s3"},
        description="The latest cocktails (COCKTAILS_API_URL, TheCocktailDB's latest.php), "
        "one object per hour: cocktails/YYYYMMDDHH00/cocktails.json.",
    )
    @retried_on_fault
    def raw_cocktails(
        context: dg.AssetExecutionContext, weather_apis: WeatherApis, weather_lake: DataLakeResource
    ) -> dg.MaterializeResult:
        lake, counts, drinks = weather_lake.get_lake(), Counter(), 0
        with weather_apis.clients() as clients:
            for hour in hours_of(context):
                payload, source = _hour_object(
                    context,
                    settings.fetch_hours,
                    lake,
                    cocktails_key(hour),
                    check_cocktails,
                    lambda: clients.cocktails.get_json(weather_apis.url("cocktails"), "the latest cocktails"),
                    hour,
                    "the latest cocktails",
                )
                counts[source] += 1
                drinks += len(payload["drinks"])
        return dg.MaterializeResult(
            metadata={
                URI: lake.uri(COCKTAILS_PREFIX),
                "hours": len(context.partition_keys),
                "drinks": drinks,
                **_objects_metadata(counts),
            }
        )

    return [raw_cities, raw_weather, raw_cocktails]


def default_hours(settings: WeatherSettings) -> tuple[str, str]:
    """What `python -m pipeline materialize --group weather` runs without --start/--end: the hour that just ended
    (an hourly partition exists once its hour is over) when the APIs are configured, else the latest hour in the
    lake (hours in between may be missing: one at a time)."""
    if settings.cities_api_url:
        hour = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=1)
    else:
        keys = [obj.key for obj in open_lake(settings.data_uri).list("cities/")]
        if not keys:
            raise NoData(
                f"weather: no hour in {settings.data_uri} and CITIES_API_URL is not set: set the API variables "
                "(docs/weather.md), or give --group sparkify"
            )
        hour = dt.datetime.strptime(max(keys).split("/")[1], "%Y%m%d%H00").replace(tzinfo=dt.UTC)
    key = hour.strftime(KEY_FORMAT)
    return key, key
