"""Figures 10 and 11: the weather pipeline, against the demo API (pipeline/defs/weather/demo_api.py).

10. At the rate limit: one run fetching an hour's weather of `cities` cities (raw/cities, raw/weather) from an
    API allowing R requests/s, against cities/R seconds, the least the plan allows; the client's rate limiter
    and its threads must fill the allowance and never exceed it (the API's 429s are printed: must be 0).
11. An hour's cost does not grow with history: one new hour (reloaded from the lake, end to end: raw, staging,
    models, checks) with `long` hours loaded vs with 24.
"""

import datetime as dt
import json
from pathlib import Path

import dagster as dg

from bench.report import Figure, median
from bench.sandbox import Sandbox, environment
from pipeline.defs.weather.demo_api import DemoApi, hour_answers, top_cities
from pipeline.defs.weather.layout import cities_key, cocktails_key, weather_key
from pipeline.defs.weather.partitions import KEY_FORMAT
from pipeline.lib.lake import LocalLake

SHORT_HISTORY_HOURS = 24


def _last_complete_hour() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=1)


def rate_limit_figure(work: Path, extension_dir: Path, cities: int, rate: float) -> Figure:
    hour = _last_complete_hour().strftime(KEY_FORMAT)
    box = Sandbox(work / "weather_fetch", "", extension_dir, api_data_uri=str(work / "weather_fetch" / "api_data"))
    api = DemoApi(rate=rate, cities=cities).start()
    try:
        # The sandbox's definitions are built here, with the API's address and rate in the environment.
        with environment(**api.urls(), API_REQUESTS_PER_SECOND=str(rate)):
            defs = box.definitions()
            fetch = dg.define_asset_job(
                "bench_weather_fetch",
                selection=dg.AssetSelection.assets(["raw", "cities"], ["raw", "weather"]),
                partitions_def=defs.resolve_assets_def(["raw", "weather"]).partitions_def,
            )
            defs = dg.Definitions.merge(defs, dg.Definitions(jobs=[fetch]))
            api.requests.clear()
            elapsed = box.run(fetch.name, hour, hour, defs=defs)
    finally:
        api.stop()
    weather = [status for _, path, status in api.requests if path.startswith("/weather")]
    if weather.count(200) != cities:
        raise RuntimeError(f"{weather.count(200)} weather answers for {cities} cities")
    least = cities / rate
    return Figure(
        f"fetch_{cities}_cities_at_{rate:g}_per_second",
        elapsed,
        "s",
        least,
        f"s ({cities} / {rate:g} requests/s)",
        elapsed / least,
        "<= 1.15",
        "one run fetching the hour's weather / the least time the API's rate allows",
        note=f"the API answered {weather.count(429)} x 429 to the client (must be 0)",
    )


def write_hours(lake_root: Path, hours: list[dt.datetime]) -> None:
    """The answers of each hour in the lake, as the raw assets would have stored them."""
    lake = LocalLake(lake_root)
    for hour in hours:
        cities, weather, drinks = hour_answers(hour, top_cities(5))
        lake.put(cities_key(hour), json.dumps(cities, ensure_ascii=False).encode())
        for city, answer in weather.items():
            lake.put(weather_key(hour, city), json.dumps(answer, ensure_ascii=False).encode())
        lake.put(cocktails_key(hour), json.dumps(drinks, ensure_ascii=False).encode())


def history_figure(work: Path, extension_dir: Path, long: int, repeats: int) -> Figure:
    last = _last_complete_hour()
    hours = [last - dt.timedelta(hours=n) for n in range(long + repeats - 1, -1, -1)]
    history, new_hours = hours[:long], hours[long:]
    lake_root = work / "weather_lake"
    write_hours(lake_root, hours)
    boxes = {
        name: Sandbox(work / f"weather_{name}_history", "", extension_dir, api_data_uri=str(lake_root))
        for name in ("long", "short")
    }

    def run(box: Sandbox, first: dt.datetime, last: dt.datetime) -> float:
        return box.run("weather_hourly", first.strftime(KEY_FORMAT), last.strftime(KEY_FORMAT))

    api = DemoApi().start()  # configured as in production; every hour is in the lake, so it is never called
    try:
        with environment(**api.urls()):  # each sandbox's definitions are built in its first run, with the API's URLs
            run(boxes["long"], history[0], history[-1])  # one run over the whole history, from the lake
            run(boxes["short"], history[-SHORT_HISTORY_HOURS], history[-1])
            on_long, on_short = [], []
            for hour in new_hours:  # each round an hour neither warehouse has seen, alternately
                on_long.append(run(boxes["long"], hour, hour))
                on_short.append(run(boxes["short"], hour, hour))
    finally:
        api.stop()
    if api.requests:
        raise RuntimeError(f"the history runs called the API {len(api.requests)} times: every hour is in the lake")
    with_long, with_short = median(on_long), median(on_short)
    return Figure(
        f"new_hour_run_with_{long}_hours_loaded",
        with_long,
        "s",
        with_short,
        f"s ({SHORT_HISTORY_HOURS} hours loaded)",
        with_long / with_short,
        "<= 1.3",
        f"one new hour end to end with {long} hours loaded / with {SHORT_HISTORY_HOURS}",
    )
