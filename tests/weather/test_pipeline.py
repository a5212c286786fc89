"""The weather pipeline end to end: the served answers typed into `weather` and `cocktails` exactly as computed
here from the same JSON, hours replaced and never duplicated, on DuckDB, a real Postgres server, Snowflake
(fakesnow, the lake on S3) and BigQuery (the emulator); a past hour reloads from the lake."""

import datetime as dt
import json
import shutil

import dagster as dg
import pytest

from pipeline.defs.weather.layout import cities_key, cocktails_key, weather_key
from pipeline.defs.weather.partitions import KEY_FORMAT, run_hr
from pipeline.lib.lake import open_lake
from tests.conftest import platform_rows
from tests.platform import recorded_metadata, run

READINGS = ("temp_c", "temp_f", "is_day", "wind_kph", "wind_degree", "pressure_mb", "humidity", "uv", "gust_kph")


@pytest.fixture(params=["duckdb", "postgres"])
def platform(request, weather_env):
    """The pipeline on DuckDB or on a real Postgres server: (warehouse name, environment)."""
    if request.param == "postgres":
        request.getfixturevalue("postgres_env")
    return request.param, weather_env


@pytest.fixture(params=["duckdb", "postgres", "snowflake", "bigquery"])
def any_platform(request, weather_env, monkeypatch):
    """The pipeline on each warehouse of the seam: Snowflake (fakesnow) with the lake on S3 (moto), as its stage
    needs, and BigQuery (the emulator)."""
    if request.param == "postgres":
        request.getfixturevalue("postgres_env")
    elif request.param == "snowflake":
        request.getfixturevalue("snowflake_env")
        request.getfixturevalue("s3_env").create_bucket(Bucket="weather-sf")
        monkeypatch.setenv("API_DATA_URI", "s3://weather-sf/api_data")
        weather_env = {**weather_env, "API_DATA_URI": "s3://weather-sf/api_data"}
    elif request.param == "bigquery":
        weather_env = {**request.getfixturevalue("dbt_on_emulator"), **weather_env, "WAREHOUSE": "bigquery"}
    return request.param, weather_env


def query(platform, sql: str) -> list[tuple]:
    return platform_rows(platform, sql)


def materialize(first: dt.datetime, last: dt.datetime | None = None):
    return run("weather_hourly", (first.strftime(KEY_FORMAT), (last or first).strftime(KEY_FORMAT)))


def served(env, key: str):
    with open_lake(env["API_DATA_URI"]).open(key) as stream:
        return json.load(stream)


def copy_hour(env, hour: dt.datetime, to: dt.datetime) -> None:
    """A local lake's answers of `hour` copied to the hour `to`, as a past run would have left them."""
    for key in (cities_key, cocktails_key):
        shutil.copytree(
            f"{env['API_DATA_URI']}/{key(hour).rsplit('/', 1)[0]}", f"{env['API_DATA_URI']}/{key(to).rsplit('/', 1)[0]}"
        )
    shutil.copytree(f"{env['API_DATA_URI']}/weather/{run_hr(hour)}", f"{env['API_DATA_URI']}/weather/{run_hr(to)}")


def expected_weather(env, hour: dt.datetime) -> list[tuple]:
    rows = []
    for city in served(env, cities_key(hour)):
        answer = served(env, weather_key(hour, city))
        date, clock = answer["location"]["localtime"].split(" ")
        local_hour = dt.datetime.fromisoformat(date) + dt.timedelta(hours=int(clock.split(":")[0]))
        current = answer["current"]
        rows.append(
            (run_hr(hour), answer["location"]["name"], local_hour, current["condition"]["text"])
            + tuple(current[name] for name in READINGS)
        )
    return sorted(rows)


def expected_cocktails(env, hour: dt.datetime) -> list[tuple]:
    drinks = served(env, cocktails_key(hour))["drinks"]
    return sorted(
        (run_hr(hour), d["idDrink"], d["strDrink"], d["strGlass"], d["strIngredient1"], d["strMeasure2"])
        for d in drinks
    )


WEATHER_SQL = (
    f"select run_hr, location_name, local_hour, condition_text, {', '.join(READINGS)} from api_analytics.weather"
)
COCKTAILS_SQL = "select run_hr, drink_id, drink_name, glass, ingredient_1, measure_2 from api_analytics.cocktails"


def test_an_hour_is_typed_as_computed_from_the_served_json_and_a_rerun_changes_nothing(any_platform, current_hour):
    platform = any_platform
    _, env = platform
    outcome = materialize(current_hour)
    assert outcome.ok, outcome.errors
    checks = {c.name: c.passed for c in outcome.checks}
    assert checks["api_analytics/weather:one_row_per_city_requested"]
    assert checks["api_analytics/weather:temperatures_within_physical_bounds"]
    assert checks["api_analytics/weather:unique_weather_source_key"]

    weather = sorted(query(platform, WEATHER_SQL))
    assert weather == expected_weather(env, current_hour)
    assert [row[1] for row in weather] == sorted(["Mexico City", "New York", "São Paulo", "Tokyo", "Zürich"])
    assert sorted(query(platform, COCKTAILS_SQL)) == expected_cocktails(env, current_hour)
    # The hour's rows, counted on each warehouse by the dbt step (pipeline/lib/dbt/row_counts.py).
    [latest, *_] = recorded_metadata(["api_analytics", "weather"], current_hour.strftime(KEY_FORMAT))
    assert latest["dagster/partition_row_count"] == len(weather)

    rerun = materialize(current_hour)
    if platform[0] == "snowflake":
        # fakesnow cannot run an incremental model a second time (docs/snowflake.md); the staging half is checked.
        assert not rerun.ok and all("TEMPORARY table names can *only* use" in e for e in rerun.errors), rerun.errors
    else:
        assert rerun.ok, rerun.errors
        assert sorted(query(platform, WEATHER_SQL)) == weather
    assert query(platform, "select count(*) from api_staging.weather_stage") == [(5,)]


def test_past_hours_reload_from_the_lake_in_one_run(platform, current_hour, api_server):
    _, env = platform
    assert materialize(current_hour).ok
    for name in ("cities", "weather", "cocktails"):  # each raw asset's materialization names its folder
        [record] = dg.DagsterInstance.get().fetch_materializations(dg.AssetKey(["raw", name]), 10).records
        assert record.asset_materialization.metadata["dagster/uri"].value == f"{env['API_DATA_URI']}/{name}"
    before = api_server.requests()
    # An earlier hour whose answers are in the lake (a copy of this hour's), as a past run left them.
    earlier = current_hour - dt.timedelta(hours=3)
    copy_hour(env, current_hour, earlier)

    outcome = materialize(earlier, current_hour)  # four hours in one run: two in the lake, two not

    assert not outcome.ok  # the hours in between are in no lake and past: refused, not fetched
    assert api_server.requests() == before
    outcome = materialize(earlier)
    assert outcome.ok, outcome.errors
    hours = query(platform, "select run_hr, count(*) from api_analytics.weather group by run_hr order by run_hr")
    assert hours == [(run_hr(earlier), 5), (run_hr(current_hour), 5)]
    assert api_server.requests() == before


def test_an_impossible_temperature_fails_its_hour(weather_env, current_hour):
    assert materialize(current_hour).ok
    path = f"{weather_env['API_DATA_URI']}/{weather_key(current_hour, 'Zürich')}"
    with open(path, encoding="utf-8") as f:
        answer = json.load(f)
    answer["current"]["temp_c"] = 290.5  # kelvin where Celsius is expected
    with open(path, "w", encoding="utf-8") as f:
        json.dump(answer, f)

    outcome = materialize(current_hour)  # reloads the hour from the lake

    assert not outcome.ok
    [failed] = [c for c in outcome.checks if not c.passed and c.blocking]  # what stops the hour
    assert failed.name == "api_analytics/weather:temperatures_within_physical_bounds"


def test_each_hour_of_a_range_run_records_its_own_row_count(platform, current_hour):
    _, env = platform
    assert materialize(current_hour).ok
    # The hour before, as a past run left it in the lake, with a city fewer in its list.
    earlier = current_hour - dt.timedelta(hours=1)
    copy_hour(env, current_hour, earlier)
    path = f"{env['API_DATA_URI']}/{cities_key(earlier)}"
    with open(path, encoding="utf-8") as f:
        cities = json.load(f)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(cities[1:], f)

    assert materialize(earlier, current_hour).ok  # both hours in one run

    for key in (["api_staging", "weather_stage"], ["api_analytics", "weather"]):
        for hour, rows in {earlier: len(cities) - 1, current_hour: len(cities)}.items():
            [(in_table,)] = query(platform, f"select count(*) from {'.'.join(key)} where run_hr = {run_hr(hour)}")
            latest = recorded_metadata(key, hour.strftime(KEY_FORMAT))[0]
            assert latest["dagster/partition_row_count"] == in_table == rows, (key, hour)
