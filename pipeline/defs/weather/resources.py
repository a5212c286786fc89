"""The weather pipeline's resources: its three APIs (endpoints, keys by `dg.EnvVar`, rate limit) and its lake."""

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import dagster as dg
from pydantic import Field

from pipeline.defs.weather.settings import WeatherSettings
from pipeline.lib.http_api import ApiClient, RateLimiter
from pipeline.lib.lake import lake_resource
from pipeline.lib.settings import Settings


@dataclass(frozen=True)
class ApiClients:
    cities: ApiClient
    weather: ApiClient
    cocktails: ApiClient


class WeatherApis(dg.ConfigurableResource):
    """CITIES_API_URL, WEATHER_API_URL, COCKTAILS_API_URL; RapidAPI's key and host headers when set, sent to
    each API's own origin only (pipeline/lib/http_api.py follows no redirect to another)."""

    cities_url: str
    weather_url: str
    cocktails_url: str
    weather_api_key: str = Field(default="", repr=False)
    weather_api_host: str = ""
    cocktails_api_key: str = Field(default="", repr=False)
    cocktails_api_host: str = ""
    requests_per_second: str = "5"  # the plan's limit, per API (text: it comes from the environment)
    request_deadline_seconds: str = "30"  # each request's total deadline, connect to last byte

    def url(self, name: str) -> str:
        url = getattr(self, f"{name}_url")
        if not url:
            raise dg.Failure(
                f"{name.upper()}_API_URL is not set: point it at the {name} API (docs/weather.md), "
                "or run `make demo`, which serves a local one",
                allow_retries=False,
            )
        return url

    @staticmethod
    def _headers(key: str, host: str) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if key:
            headers["X-RapidAPI-Key"] = key
        if host:
            headers["X-RapidAPI-Host"] = host
        return headers

    @contextmanager
    def clients(self) -> Iterator[ApiClients]:
        """One client per API, each within its own plan's rate, shared by the run's threads."""
        rate, deadline = float(self.requests_per_second), float(self.request_deadline_seconds)
        with ExitStack() as stack:
            yield ApiClients(
                cities=stack.enter_context(ApiClient(RateLimiter(rate), deadline=deadline)),
                weather=stack.enter_context(
                    ApiClient(
                        RateLimiter(rate),
                        self._headers(self.weather_api_key, self.weather_api_host),
                        deadline=deadline,
                    )
                ),
                cocktails=stack.enter_context(
                    ApiClient(
                        RateLimiter(rate),
                        self._headers(self.cocktails_api_key, self.cocktails_api_host),
                        deadline=deadline,
                    )
                ),
            )


def weather_resources(settings: WeatherSettings, platform: Settings) -> dict:
    """The APIs (their keys by reference: read when a run uses them, never in config) and the lake."""
    return {
        "weather_apis": WeatherApis(
            cities_url=settings.cities_api_url,
            weather_url=settings.weather_api_url,
            cocktails_url=settings.cocktails_api_url,
            weather_api_key=_key(platform, "WEATHER_API_KEY"),
            weather_api_host=settings.weather_api_host,
            cocktails_api_key=_key(platform, "COCKTAILS_API_KEY"),
            cocktails_api_host=settings.cocktails_api_host,
            requests_per_second=str(settings.requests_per_second),
            request_deadline_seconds=str(settings.request_deadline_seconds),
        ),
        "weather_lake": lake_resource(settings.data_uri),
    }


def _key(platform: Settings, name: str) -> dg.EnvVar | str:
    # Secrets: empty unless set (never a value here); sent only when set.
    return dg.EnvVar(name) if platform.is_set(name) else ""
