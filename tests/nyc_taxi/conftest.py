"""The NYC-taxi pipeline's tests: three generated months (with every real-file quirk) in a lake of their own."""

import pytest

from pipeline.defs.nyc_taxi.sample_data import TaxiSpec, generate_months


@pytest.fixture
def nyc_lake(tmp_path, pipeline_env, monkeypatch):
    """Three months of 300 trips under NYC_TAXI_DATA_URI: the MonthFiles written."""
    root = tmp_path / "nyc"
    months = generate_months(root, TaxiSpec(months=3, trips_per_month=300))
    monkeypatch.setenv("NYC_TAXI_DATA_URI", str(root))
    return months
