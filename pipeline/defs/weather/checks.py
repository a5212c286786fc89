"""The weather model's checks, standing in for the original's Anomalo checks: every city asked for has its row
in each hour, and no temperature is physically impossible. Both block: a failed hour stops what reads it.
(No duplicated city and hour is dbt's `unique` test on source_key; freshness is freshness.py's.)"""

import dagster as dg

from pipeline.defs.weather.partitions import hours_of, run_hr
from pipeline.defs.weather.raw_assets import stored_cities
from pipeline.lib.lake import DataLakeResource
from pipeline.lib.retries import retried_on_fault
from pipeline.lib.warehouse import Warehouse

WEATHER = dg.AssetKey(["api_analytics", "weather"])
# The extremes ever measured (-89.2 °C, 56.7 °C) with a margin; a reading beyond them is a unit or parse error.
TEMPERATURE_BOUNDS_C = (-95.0, 65.0)


def weather_checks(analytics_schema: str, partitions: dg.PartitionsDefinition) -> list[dg.AssetChecksDefinition]:
    @dg.asset_check(asset=WEATHER, name="one_row_per_city_requested", partitions_def=partitions, blocking=True)
    @retried_on_fault
    def one_row_per_city_requested(
        context: dg.AssetCheckExecutionContext, weather_lake: DataLakeResource, warehouse: Warehouse
    ) -> dg.AssetCheckResult:
        """Each hour holds one row per city of that hour's list, no more, no fewer."""
        lake, problems, table = weather_lake.get_lake(), [], f"{analytics_schema}.weather"
        for hour in hours_of(context):
            requested = len(stored_cities(lake, hour))
            rows = warehouse.row_count(table, f"run_hr = {run_hr(hour)}")
            if rows != requested:
                problems.append(f"{hour:%Y-%m-%d %H:00}: {rows} rows for {requested} cities")
        return dg.AssetCheckResult(passed=not problems, description="; ".join(problems) or None)

    @dg.asset_check(asset=WEATHER, name="temperatures_within_physical_bounds", partitions_def=partitions, blocking=True)
    @retried_on_fault
    def temperatures_within_physical_bounds(context: dg.AssetCheckExecutionContext, warehouse: Warehouse):
        low, high = TEMPERATURE_BOUNDS_C
        hours = hours_of(context)
        window = f"run_hr >= {run_hr(min(hours))} and run_hr <= {run_hr(max(hours))}"
        outside = warehouse.query(
            f"select location_name, run_hr, temp_c, feelslike_c from {analytics_schema}.weather where {window} and "
            f"(temp_c < {low} or temp_c > {high} or feelslike_c < {low} or feelslike_c > {high})"
        )
        return dg.AssetCheckResult(
            passed=not outside,
            description="; ".join(f"{city} at {hr}: {t} °C (feels {f})" for city, hr, t, f in outside[:10]) or None,
            metadata={"readings_outside": len(outside)},
        )

    return [one_row_per_city_requested, temperatures_within_physical_bounds]
