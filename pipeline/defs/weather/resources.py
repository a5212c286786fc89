"""The weather pipeline's resources: its three APIs (endpoints, keys by `dg.EnvVar`, rate limit) and its lake."""

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import dagster as dg
from dagster_aws.s3 import S3Resource
from pydantic import Field

from pipeline.defs.weather.settings import env
from pipeline.lib.http_api import ApiClient, RateLimiter
from pipeline.lib.lake import DataLakeResource


@dataclass(frozen=True)
class ApiClients:
    cities: ApiClient
    weather: ApiClient
    cocktails: ApiClient


class WeatherApis(dg.ConfigurableResource):
    """CITIES_API_URL, WEATHER_API_URL, COCKTAILS_API_URL; RapidAPI's key and host headers when set."""

    cities_url: str
    weather_url: str
    cocktails_url: str
    weather_api_key: str | None = Field(default=None, repr=False)
    weather_api_host: str | None = None
    cocktails_api_key: str | None = Field(default=None, repr=False)
    cocktails_api_host: str | None = None
    requests_per_second: float = 5.0  # the plan's limit, per API

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
    def _headers(key: str | None, host: str | None) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if key:
            headers["X-RapidAPI-Key"] = key
        if host:
            headers["X-RapidAPI-Host"] = host
        return headers

    @contextmanager
    def clients(self) -> Iterator[ApiClients]:
        """One client per API, each within its own plan's rate, shared by the run's threads."""
        with ExitStack() as stack:
            yield ApiClients(
                cities=stack.enter_context(ApiClient(RateLimiter(self.requests_per_second))),
                weather=stack.enter_context(
                    ApiClient(
                        RateLimiter(self.requests_per_second),
                        self._headers(self.weather_api_key, self.weather_api_host),
                    )
                ),
                cocktails=stack.enter_context(
                    ApiClient(
                        RateLimiter(self.requests_per_second),
                        self._headers(self.cocktails_api_key, self.cocktails_api_host),
                    )
                ),
            )


def _secret(name: str) -> dg.EnvVar | None:
    return dg.EnvVar(name) if os.environ.get(name) else None


defs = dg.Definitions(
    resources={
        "weather_apis": WeatherApis(
            cities_url=env("CITIES_API_URL"),
            weather_url=env("WEATHER_API_URL"),
            cocktails_url=env("COCKTAILS_API_URL"),
            weather_api_key=_secret("WEATHER_API_KEY"),
            weather_api_host=env("WEATHER_API_HOST") or None,
            cocktails_api_key=_secret("COCKTAILS_API_KEY"),
            cocktails_api_host=env("COCKTAILS_API_HOST") or None,
            requests_per_second=float(env("API_REQUESTS_PER_SECOND")),
        ),
        "weather_lake": DataLakeResource(data_uri=dg.EnvVar("API_DATA_URI"), s3=S3Resource()),
    }
)
