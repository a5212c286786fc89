"""The weather pipeline's resources: its three APIs (endpoints, keys by `dg.EnvVar`, rate limit) and its lake."""

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import dagster as dg
from dagster_aws.s3 import S3Resource
from pydantic import Field

from pipeline.defs.weather import settings as _settings  # noqa: F401  (declares the variables' defaults)
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
    weather_api_key: str = Field(default="", repr=False)
    weather_api_host: str = ""
    cocktails_api_key: str = Field(default="", repr=False)
    cocktails_api_host: str = ""
    requests_per_second: str = "5"  # the plan's limit, per API (text: it comes from the environment)

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
        rate = float(self.requests_per_second)
        with ExitStack() as stack:
            yield ApiClients(
                cities=stack.enter_context(ApiClient(RateLimiter(rate))),
                weather=stack.enter_context(
                    ApiClient(
                        RateLimiter(rate),
                        self._headers(self.weather_api_key, self.weather_api_host),
                    )
                ),
                cocktails=stack.enter_context(
                    ApiClient(
                        RateLimiter(rate),
                        self._headers(self.cocktails_api_key, self.cocktails_api_host),
                    )
                ),
            )


# Every value by dg.EnvVar: read when a run uses the resource, not when the code location is loaded, so the
# variables set for a run (the demo's local API, a test's server) are the ones it uses; keys never in config.
defs = dg.Definitions(
    resources={
        "weather_apis": WeatherApis(
            cities_url=dg.EnvVar("CITIES_API_URL"),
            weather_url=dg.EnvVar("WEATHER_API_URL"),
            cocktails_url=dg.EnvVar("COCKTAILS_API_URL"),
            weather_api_key=dg.EnvVar("WEATHER_API_KEY"),
            weather_api_host=dg.EnvVar("WEATHER_API_HOST"),
            cocktails_api_key=dg.EnvVar("COCKTAILS_API_KEY"),
            cocktails_api_host=dg.EnvVar("COCKTAILS_API_HOST"),
            requests_per_second=dg.EnvVar("API_REQUESTS_PER_SECOND"),
        ),
        "weather_lake": DataLakeResource(data_uri=dg.EnvVar("API_DATA_URI"), s3=S3Resource()),
    }
)
