"""Staging: an hour's stored API answers loaded as they are, one row per object with its hour and lake key.

The answers' objects stay JSON text (`location`, `current`, `drinks`): the dbt models type them. Each hour's
rows are replaced in one transaction with the whole run's hours, so a re-run duplicates nothing and a bad
object leaves the tables as they were.
"""

import dagster as dg

from pipeline.defs.weather.layout import cocktails_key, weather_key
from pipeline.defs.weather.partitions import hours_of, run_hr
from pipeline.defs.weather.raw_assets import stored_cities
from pipeline.lib.lake import DataLake, DataLakeResource
from pipeline.lib.load_errors import load_or_fail
from pipeline.lib.metadata import loaded_table, record_partition_row_counts, warehouse_table
from pipeline.lib.retries import retried_on_fault
from pipeline.lib.warehouse import Column, JsonBatch, TableSpec, Warehouse

_HOUR_AND_KEY = (Column("run_hr", "bigint", "run_hr"), Column("source_key", "text", "source_key"))


def weather_stage_table(schema: str) -> TableSpec:
    return TableSpec(
        schema,
        "weather_stage",
        (*_HOUR_AND_KEY, Column("location", "text", "location"), Column("current", "text", "current")),
    )


def cocktails_stage_table(schema: str) -> TableSpec:
    return TableSpec(schema, "cocktails_stage", (*_HOUR_AND_KEY, Column("drinks", "text", "drinks")))


def hour_batches(lake: DataLake, hour, keys: list[str]) -> list[JsonBatch]:
    """One batch per object: the first replaces the hour's rows, the others add theirs in the same transaction."""
    hr = run_hr(hour)
    return [
        JsonBatch(
            keys=(key,),
            window_column="run_hr",
            low=hr,
            high=hr + 1,
            label=f"{hour:%Y-%m-%d %H:00} ({lake.uri(key)})",
            append=n > 0,
            added_fields=(("run_hr", hr), ("source_key", key)),
        )
        for n, key in enumerate(keys)
    ]


def _load(
    context: dg.AssetExecutionContext,
    lake: DataLake,
    warehouse: Warehouse,
    table: TableSpec,
    hours: dict[str, list[JsonBatch]],
    recorded: dict[str, object],
) -> dg.MaterializeResult:
    """Every hour's batches in one transaction; each hour's partition gets its own row count (the sum of its
    batches: the first replaced the hour, the others added theirs)."""
    counts = iter(load_or_fail(lake, warehouse, table, [batch for batches in hours.values() for batch in batches]))
    record_partition_row_counts(context, {key: sum(next(counts) for _ in batches) for key, batches in hours.items()})
    return dg.MaterializeResult(metadata=recorded)


def staging_assets(
    schema: str, partitions: dg.PartitionsDefinition, raw: list[dg.AssetsDefinition], group: str, warehouse: str
) -> list[dg.AssetsDefinition]:
    """api_staging/weather_stage and api_staging/cocktails_stage, in the schema (WEATHER_STAGING_SCHEMA) of the
    warehouse WAREHOUSE names."""
    _, raw_weather, raw_cocktails = raw
    weather_table, cocktails_table = weather_stage_table(schema), cocktails_stage_table(schema)
    weather_loaded, cocktails_loaded = loaded_table(weather_table, warehouse), loaded_table(cocktails_table, warehouse)

    @dg.asset(
        key=["api_staging", "weather_stage"],
        deps=[raw_weather],
        group_name=group,
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        kinds={warehouse},
        metadata=warehouse_table(weather_table, warehouse),
        description="Each city's weather answer of the hour, its objects as JSON text, with run_hr and the lake key.",
    )
    @retried_on_fault
    def weather_stage(
        context: dg.AssetExecutionContext, weather_lake: DataLakeResource, warehouse: Warehouse
    ) -> dg.MaterializeResult:
        lake = weather_lake.get_lake()
        hours = {
            key: hour_batches(lake, hour, [weather_key(hour, city) for city in stored_cities(lake, hour)])
            for key, hour in zip(context.partition_keys, hours_of(context), strict=True)
        }
        return _load(context, lake, warehouse, weather_table, hours, weather_loaded)

    @dg.asset(
        key=["api_staging", "cocktails_stage"],
        deps=[raw_cocktails],
        group_name=group,
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        kinds={warehouse},
        metadata=warehouse_table(cocktails_table, warehouse),
        description="The hour's latest-cocktails answer, its drinks as JSON text, with run_hr and the lake key.",
    )
    @retried_on_fault
    def cocktails_stage(
        context: dg.AssetExecutionContext, weather_lake: DataLakeResource, warehouse: Warehouse
    ) -> dg.MaterializeResult:
        lake = weather_lake.get_lake()
        hours = {
            key: hour_batches(lake, hour, [cocktails_key(hour)])
            for key, hour in zip(context.partition_keys, hours_of(context), strict=True)
        }
        return _load(context, lake, warehouse, cocktails_table, hours, cocktails_loaded)

    return [weather_stage, cocktails_stage]
