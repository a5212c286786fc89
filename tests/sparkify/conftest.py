"""Sparkify's warehouses on their doubles, for the end-to-end tests: Snowflake (fakesnow, the COPY seam) reading
the sample lake from S3, and dbt-bigquery pointed at the emulator."""

import hashlib

import pytest

from pipeline.lib import environment
from tests.conftest import upload_tree
from tests.test_warehouse_snowflake import fakesnow_warehouse


@pytest.fixture
def snowflake_env(snowflake_server, pipeline_env, s3_env, sample_lake, monkeypatch, request):
    """WAREHOUSE=snowflake in a database of the test's own: fakesnow fails an incremental model's second run
    (docs/snowflake.md), so each test starts from empty tables."""
    database = "SPARKIFY_" + hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:12].upper()
    upload_tree(s3_env, sample_lake.root, "sparkify-sf", "lake")
    values = {
        "WAREHOUSE": "snowflake",
        "SPARKIFY_DATA_URI": "s3://sparkify-sf/lake",
        "SNOWFLAKE_ACCOUNT": snowflake_server.account,
        "SNOWFLAKE_USER": "pipeline",
        "SNOWFLAKE_PASSWORD": "fakesnow-takes-any",
        "SNOWFLAKE_DATABASE": database,
        "SNOWFLAKE_WAREHOUSE": "COMPUTE_WH",
        **snowflake_server.env(),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    warehouse = fakesnow_warehouse(snowflake_server, database)
    monkeypatch.setitem(environment.WAREHOUSE_RESOURCES, "snowflake", lambda: warehouse)
    return warehouse


@pytest.fixture
def dbt_on_emulator(bigquery_env, monkeypatch):
    # dbt-bigquery's oauth-secrets method with a dummy token: the emulator takes any credentials.
    monkeypatch.setenv("BIGQUERY_DBT_METHOD", "oauth-secrets")
    monkeypatch.setenv("BIGQUERY_DBT_TOKEN", "emulator")
    return bigquery_env
