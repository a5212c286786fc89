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


def bigquery_resource(location: str, emulator_host: str | None) -> BigQueryResource:
    """BIGQUERY_PROJECT, and the location (BIGQUERY_LOCATION); the emulator's endpoint only when one is given
    (BIGQUERY_EMULATOR_HOST)."""
    config = {"project": dg.EnvVar("BIGQUERY_PROJECT"), "location": location}
    if emulator_host:
        return EmulatedBigQueryResource(**config, emulator_host=emulator_host)
    return BigQueryResource(**config)


def gcs_resource() -> GCSResource:
    """The staging bucket's client, in the BigQuery project."""
    return GCSResource(project=dg.EnvVar("BIGQUERY_PROJECT"))
