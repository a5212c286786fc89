"""Shared fixtures: a generated sample lake, an isolated warehouse/instance per test, a real S3 endpoint on loopback."""

import hashlib
import logging
import os
import shutil

import boto3
import pytest
from moto.server import ThreadedMotoServer

from pipeline.defs.sparkify.sample_data import SampleSpec, generate_lake
from pipeline.lib.dbt.manifest import prepare_manifest
from pipeline.lib.settings import Settings
from tests import session_tmp


@pytest.hookimpl(tryfirst=True)  # before pytest's tmpdir plugin reads --basetemp
def pytest_configure(config):
    """The session's own temporary root (tests/session_tmp.py); dbt's manifest is current before any test builds
    the definitions (dagster-dbt reads it then)."""
    session_tmp.give_own_root(config)
    if hasattr(config, "workerinput"):  # an xdist worker: its controller prepared the manifest before starting it
        return
    settings = Settings.from_env()
    prepare_manifest(settings.dbt_variables(), settings.warehouse)


@pytest.hookimpl(trylast=True)  # after the session's fixtures (a Postgres server in the root) are torn down
def pytest_sessionfinish(session, exitstatus):
    session_tmp.decide(session, exitstatus)


def pytest_terminal_summary(terminalreporter, config):
    session_tmp.summary(terminalreporter, config)


def pytest_unconfigure(config):
    session_tmp.clean_up(config)


SAMPLE = SampleSpec(days=3, events_per_day=250, song_files=60, users=20, seed=7)


@pytest.fixture(scope="session")
def sample_lake(tmp_path_factory):
    """A 3-day lake generated once; tests that change files copy it first."""
    return generate_lake(tmp_path_factory.mktemp("lake"), SAMPLE, progress=False)


@pytest.fixture(scope="session")
def extension_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("duckdb_extensions")


@pytest.fixture
def pipeline_env(tmp_path, monkeypatch, sample_lake, extension_dir):
    """Environment of one isolated platform: own warehouse file and Dagster instance, the sample lake."""
    values = {
        "SPARKIFY_DATA_URI": str(sample_lake.root),
        "WAREHOUSE": "duckdb",
        "DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
        "DUCKDB_EXTENSION_DIR": str(extension_dir),
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    (tmp_path / "dagster_home").mkdir()  # the dagster CLI requires it to exist
    return values


@pytest.fixture
def copied_lake(tmp_path, sample_lake, monkeypatch, pipeline_env):
    """A private copy of the sample lake that a test may damage; SPARKIFY_DATA_URI points at it."""
    root = tmp_path / "lake"
    shutil.copytree(sample_lake.root, root)
    monkeypatch.setenv("SPARKIFY_DATA_URI", str(root))
    return root


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory):
    """A real PostgreSQL server (Debian's package) on a free loopback port, for the session."""
    from tests.postgres_server import PostgresServer

    with PostgresServer(tmp_path_factory.mktemp("postgres")) as server:
        yield server


@pytest.fixture
def postgres_env(postgres_server, pipeline_env, monkeypatch, request):
    """WAREHOUSE=postgres on a fresh database of the session's server."""
    name = "t_" + "".join(ch if ch.isalnum() else "_" for ch in request.node.name.lower())[:50]
    postgres_server.create_database(name)
    values = {
        "WAREHOUSE": "postgres",
        "POSTGRES_HOST": postgres_server.host,
        "POSTGRES_PORT": str(postgres_server.port),
        "POSTGRES_USER": postgres_server.user,
        "POSTGRES_PASSWORD": postgres_server.password,
        "POSTGRES_DB": name,
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return {**pipeline_env, **values}


@pytest.fixture(scope="session")
def s3_endpoint():
    """moto's S3 server on 127.0.0.1 (a real HTTP endpoint), for the session."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_env(s3_endpoint, monkeypatch):
    """AWS settings that reach the loopback S3 server; returns a boto3 client for it."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return boto3.client("s3")


def restarted_steps(run_id: str) -> list[str]:
    """The steps of the run that Dagster restarted (retried), in order."""
    import dagster as dg

    records = dg.DagsterInstance.get().get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_RESTARTED).records
    return [r.event_log_entry.step_key for r in records]


def upload_tree(client, root, bucket: str, prefix: str) -> None:
    if bucket not in {b["Name"] for b in client.list_buckets()["Buckets"]}:
        client.create_bucket(Bucket=bucket)
    for path in sorted(root.rglob("*")):
        if path.is_file():
            client.upload_file(str(path), bucket, f"{prefix}/{path.relative_to(root).as_posix()}")


@pytest.fixture(scope="session")
def snowflake_server(tmp_path_factory):
    """A fakesnow server (Snowflake's protocol, DuckDB underneath) on a free loopback port, for the session."""
    from tests.snowflake_server import FakesnowServer

    with FakesnowServer(tmp_path_factory.mktemp("fakesnow")) as server:
        yield server


@pytest.fixture(scope="session")
def bigquery_server(tmp_path_factory):
    """bqemulator and fake-gcs-server on free loopback ports, sharing the objects' folder, for the session."""
    from tests.bigquery_server import BigQueryDoubles

    with BigQueryDoubles(tmp_path_factory.mktemp("bigquery")) as doubles:
        yield doubles


@pytest.fixture
def bigquery_env(bigquery_server, pipeline_env, monkeypatch, request):
    """WAREHOUSE=bigquery on the emulator, in a project of the test's own (its datasets are new)."""
    project = "t-" + hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:16]
    values = {"WAREHOUSE": "bigquery", **bigquery_server.env(project)}
    monkeypatch.delenv("BIGQUERY_STAGING_BUCKET", raising=False)
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return {**pipeline_env, **values}


@pytest.fixture
def snowflake_env(snowflake_server, pipeline_env, monkeypatch, request):
    """WAREHOUSE=snowflake on the fakesnow server, its COPY through the seam (tests/test_warehouse_snowflake.py), in a
    database of the test's own: fakesnow fails an incremental model's second run (docs/snowflake.md), so each
    test starts from empty tables. The lake must be on S3: the test points the pipeline's lake there."""
    from pipeline.lib import environment
    from tests.test_warehouse_snowflake import fakesnow_warehouse

    database = "T_" + hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:12].upper()
    values = {
        "WAREHOUSE": "snowflake",
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
    monkeypatch.setitem(environment.WAREHOUSE_RESOURCES, "snowflake", lambda settings: warehouse)
    return warehouse


@pytest.fixture
def dbt_on_emulator(bigquery_env, monkeypatch):
    """bigquery_env with dbt-bigquery's oauth-secrets method and a dummy token: the emulator takes any credentials."""
    monkeypatch.setenv("BIGQUERY_DBT_METHOD", "oauth-secrets")
    monkeypatch.setenv("BIGQUERY_DBT_TOKEN", "emulator")
    return bigquery_env


def warehouse_rows(sql: str) -> list[tuple]:
    """The rows of a query on the warehouse the environment names (WAREHOUSE: duckdb or postgres), read directly."""
    if os.environ["WAREHOUSE"] == "duckdb":
        import duckdb

        with duckdb.connect(os.environ["DUCKDB_PATH"], read_only=True) as connection:
            return connection.execute(sql).fetchall()
    import psycopg2

    connection = psycopg2.connect(
        host=os.environ["POSTGRES_HOST"],
        port=os.environ["POSTGRES_PORT"],
        user=os.environ["POSTGRES_USER"],
        password=os.environ["POSTGRES_PASSWORD"],
        dbname=os.environ["POSTGRES_DB"],
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()
    finally:
        connection.close()


def platform_rows(platform: tuple[str, dict], sql: str) -> list[tuple]:
    """The rows of a query on the platform's warehouse ((name, environment), as the pipelines' `any_platform`
    fixtures give): Snowflake through the test's fakesnow warehouse, BigQuery's emulator with aware UTC
    timestamps made naive, DuckDB and Postgres as warehouse_rows."""
    warehouse, env = platform
    if warehouse == "snowflake":
        from pipeline.lib import environment

        return [tuple(row) for row in environment.WAREHOUSE_RESOURCES["snowflake"](None).query(sql)]
    if warehouse == "bigquery":
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import bigquery

        from tests.sparkify.test_pipeline_bigquery import _plain

        client = bigquery.Client(
            project=env["BIGQUERY_PROJECT"],
            credentials=AnonymousCredentials(),
            client_options=ClientOptions(api_endpoint=env["BIGQUERY_EMULATOR_HOST"]),
        )
        return [tuple(_plain(v) for v in row.values()) for row in client.query(sql).result()]
    return warehouse_rows(sql)
