"""The NYC-taxi pipeline's tests: three generated months (with every real-file quirk) in a lake of their own; and
for the month-file tests, a copy of two loaded months with its lake steps on either engine (month_platform.py)."""

import shutil
from pathlib import Path

import pytest

from pipeline.defs.nyc_taxi.sample_data import TaxiSpec, generate_months
from tests.nyc_taxi.month_platform import FEBRUARY, JANUARY, Platform
from tests.nyc_taxi.test_spark_engine import SPARK_PYTHON
from tests.platform import materialize


@pytest.fixture
def nyc_lake(tmp_path, pipeline_env, monkeypatch):
    """Three months of 300 trips under NYC_TAXI_DATA_URI: the MonthFiles written."""
    root = tmp_path / "nyc"
    months = generate_months(root, TaxiSpec(months=3, trips_per_month=300))
    monkeypatch.setenv("NYC_TAXI_DATA_URI", str(root))
    return months


@pytest.fixture(scope="session")
def loaded_months(tmp_path_factory, sample_lake, extension_dir):
    """January and February loaded once on DuckDB (lake layers, warehouse, dbt): the folders a test copies."""
    root = tmp_path_factory.mktemp("month_input")
    months = generate_months(root / "nyc", TaxiSpec(months=2, trips_per_month=200))
    env = {
        "SPARKIFY_DATA_URI": str(sample_lake.root),
        "NYC_TAXI_DATA_URI": str(root / "nyc"),
        "NYC_TAXI_SPARK_PYTHON": str(SPARK_PYTHON),
        "WAREHOUSE": "duckdb",
        "DUCKDB_PATH": str(root / "warehouse.duckdb"),
        "DUCKDB_EXTENSION_DIR": str(extension_dir),
        "DAGSTER_HOME": str(root / "dagster_home"),
        "RETRY_DELAY_SECONDS": "0",  # a wrong retry shows as a restarted step, not as a wait
    }
    (root / "dagster_home").mkdir()
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        runs = materialize("nyc_taxi", JANUARY.isoformat(), FEBRUARY.isoformat())
    assert all(outcome.ok for _, outcome in runs), [outcome.errors for _, outcome in runs]
    return env, months


@pytest.fixture(params=["duckdb", "spark"])
def engine(request):
    return request.param


@pytest.fixture
def platform(loaded_months, engine, tmp_path, monkeypatch) -> Platform:
    """A copy of the loaded months (lake, warehouse, instance), its lake steps on the engine."""
    env, _ = loaded_months
    if engine == "spark":
        assert SPARK_PYTHON.exists(), "the Spark double is missing: run bash tests/install_servers.sh"
    copied = {
        "NYC_TAXI_DATA_URI": str(tmp_path / "nyc"),
        "DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
    }
    shutil.copytree(env["NYC_TAXI_DATA_URI"], copied["NYC_TAXI_DATA_URI"])
    shutil.copytree(env["DAGSTER_HOME"], copied["DAGSTER_HOME"])
    shutil.copy(env["DUCKDB_PATH"], copied["DUCKDB_PATH"])
    for name, value in (env | copied | {"NYC_TAXI_ENGINE": engine}).items():
        monkeypatch.setenv(name, value)
    return Platform(Path(copied["NYC_TAXI_DATA_URI"]))
