"""The NYC-taxi pipeline's definitions, built from its settings: a month's CSV -> typed parquet -> fare by zone
-> the warehouse -> dbt, with the month checks, the loaded tables' volume-anomaly and column-schema checks, the
monthly job and the new-month-files sensor."""

import dagster as dg

from pipeline.defs.nyc_taxi.checks import month_checks
from pipeline.defs.nyc_taxi.lake_assets import lake_assets
from pipeline.defs.nyc_taxi.layout import MONTH_FILES
from pipeline.defs.nyc_taxi.partitions import monthly_partitions
from pipeline.defs.nyc_taxi.raw_assets import raw_green_tripdata
from pipeline.defs.nyc_taxi.settings import NycTaxiSettings
from pipeline.defs.nyc_taxi.warehouse_assets import warehouse_assets
from pipeline.lib.dbt.assets import partitioned_models
from pipeline.lib.dbt.project import dbt_project
from pipeline.lib.environment import sensor_default_status
from pipeline.lib.history_checks import column_schema_change_checks, volume_anomaly_check
from pipeline.lib.lake import lake_resource, open_lake
from pipeline.lib.partitioned_files import new_files_sensor
from pipeline.lib.pipelines import NoData, Pipeline
from pipeline.lib.settings import Settings

GROUP = "nyc_taxi"
SETTINGS = NycTaxiSettings


def build(platform: Settings) -> Pipeline:
    settings = NycTaxiSettings.resolve(platform)
    partitions = monthly_partitions(settings.first_month, settings.last_month)
    raw = raw_green_tripdata(partitions, GROUP)
    layers = lake_assets(settings, platform.duckdb_extension_dir, partitions, raw, GROUP)
    tables = warehouse_assets(settings.load_schema, partitions, layers, GROUP, platform.warehouse)
    # dbt_project/models/nyc_taxi/: the `calendar_date` dimension and the `nyc_taxi` model, each run replacing
    # exactly its months.
    models = partitioned_models(dbt_project(platform), GROUP, partitions, "nyc_taxi_models")
    job = dg.define_asset_job(
        name="nyc_taxi_monthly",
        selection=dg.AssetSelection.groups(GROUP),
        partitions_def=partitions,
        description="A month's green-taxi CSV typed to parquet, aggregated by pickup zone, loaded and modelled; a "
        "range of months runs in one run.",
    )
    # The TLC republishes corrected months: a replaced file is requested again. A file of the month under way
    # waits for its partition; one before NYC_TAXI_FIRST_MONTH is reported.
    sensor = new_files_sensor(
        MONTH_FILES,
        name="new_month_files_sensor",
        job=job,
        partitions_def=partitions,
        lake="nyc_lake",
        minimum_interval_seconds=settings.sensor_interval_seconds,
        default_status=sensor_default_status(platform),
        description="Requests one nyc_taxi_monthly run per new month file, and again when a month's file is replaced.",
        version_tag="nyc_taxi/file_version",
    )
    defs = dg.Definitions(
        assets=[raw, *layers, *tables, models],
        asset_checks=[
            *month_checks(layers, partitions, platform.duckdb_extension_dir),
            volume_anomaly_check(tables[0], settings.volume_anomaly()),  # trips per month
            *column_schema_change_checks(tables),
        ],
        jobs=[job],
        sensors=[sensor],
        resources={"nyc_lake": lake_resource(settings.data_uri)},
    )
    return Pipeline(defs, GROUP, lambda: months_in_lake(settings.data_uri))


def months_in_lake(data_uri: str) -> tuple[str, str]:
    """The first and last month whose file is in the lake (months in between may be missing: one at a time)."""
    found = MONTH_FILES.data_range(open_lake(data_uri))
    if found is None:
        raise NoData(
            f"nyc_taxi: no green_tripdata_YYYY-MM.csv (.csv.gz, .parquet) under {data_uri}/raw/nyc/: put the month "
            "files there, or generate some (python -m pipeline generate nyc_taxi DIR), or give --group"
        )
    return found
