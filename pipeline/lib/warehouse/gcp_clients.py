"""The Google Cloud resources the BigQuery warehouse uses, from dagster_gcp, and where they point.

In production they are dagster_gcp's own (credentials from the environment or workload identity). When
BIGQUERY_EMULATOR_HOST is set (tests, a laptop), BigQuery is reached at that endpoint with anonymous
credentials; google-cloud-storage honours STORAGE_EMULATOR_HOST by itself.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
from dagster_gcp import BigQueryResource, GCSResource
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

from pipeline.lib.settings import Settings

EMULATOR_HOST = "BIGQUERY_EMULATOR_HOST"


class EmulatedBigQueryResource(BigQueryResource):
    """BigQueryResource for a BigQuery emulator: BigQueryResource has no endpoint setting."""

    emulator_host: str

    @contextmanager
    def get_client(self) -> Iterator[bigquery.Client]:
        yield bigquery.Client(
            project=self.project,
            location=self.location,
            credentials=AnonymousCredentials(),
            client_options=ClientOptions(api_endpoint=self.emulator_host),
        )


def bigquery_resource(settings: Settings) -> BigQueryResource:
    """BIGQUERY_PROJECT and BIGQUERY_LOCATION; the emulator's endpoint only when BIGQUERY_EMULATOR_HOST is set."""
    config = {"project": dg.EnvVar("BIGQUERY_PROJECT"), "location": settings.variable("BIGQUERY_LOCATION")}
    if settings.is_set(EMULATOR_HOST):
        return EmulatedBigQueryResource(**config, emulator_host=settings.variable(EMULATOR_HOST))
    return BigQueryResource(**config)


def gcs_resource(settings: Settings) -> GCSResource:
    """The staging bucket's client, in the BigQuery project."""
    return GCSResource(project=dg.EnvVar("BIGQUERY_PROJECT"))
