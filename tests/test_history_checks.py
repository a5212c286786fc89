"""The volume-anomaly and column-schema checks (pipeline/lib/history_checks.py), evaluated by Dagster in real runs
against what a real instance recorded: a daily loader's counts with a weekday rhythm and noise, then a day with a
tenth of its events; and each pipeline's check, built from its settings, judging its own partitions."""

import datetime as dt
import math
import random
import re
from dataclasses import replace
from pathlib import Path

import dagster as dg
import pytest

from pipeline.defs.nyc_taxi.settings import NycTaxiSettings
from pipeline.defs.sparkify.settings import SparkifySettings
from pipeline.defs.weather.settings import WeatherSettings
from pipeline.lib.history_checks import (
    CHECK_NAME,
    PARTITION_ROW_COUNT,
    VolumeAnomaly,
    column_schema_change_checks,
    judge,
    volume_anomaly_check,
)
from pipeline.lib.materialize import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG
from tests.platform import definitions

DAYS = dg.DailyPartitionsDefinition(start_date="2024-01-01", timezone="UTC")
FIRST = dt.date(2024, 1, 1)  # a Monday
WEEKDAY_EVENTS = (1000, 1040, 1020, 1060, 980, 700, 600)  # Monday .. Sunday: weekends are quieter


def normal_day(day: dt.date, rng: random.Random) -> int:
    """A day's events: its weekday's level, with 5 % day-to-day noise."""
    return round(WEEKDAY_EVENTS[day.weekday()] * math.exp(rng.gauss(0, 0.05)))


def loader(rows: dict[str, int], columns: dict[str, str]) -> dg.AssetsDefinition:
    """A daily loader as the platform's are: a range in one run, each day's count on that day's materialization."""

    @dg.asset(key=["staging", "events"], partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run())
    def events(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        for key in context.partition_keys:
            if key in rows:
                context.add_asset_metadata({PARTITION_ROW_COUNT: rows[key]}, partition_key=key)
        schema = dg.TableSchema([dg.TableColumn(name, kind) for name, kind in columns.items()])
        return dg.MaterializeResult(metadata={"dagster/column_schema": schema})

    return events


class Loads:
    """The loader and its checks run against one instance, a day or a range of days at a time."""

    def __init__(self, instance: dg.DagsterInstance, anomaly: VolumeAnomaly | None = None):
        self.instance, self.rows, self.columns = instance, {}, {"ts": "bigint", "user_id": "text"}
        events = loader(self.rows, self.columns)
        checks = [volume_anomaly_check(events, anomaly or VolumeAnomaly()), *column_schema_change_checks([events])]
        job = dg.define_asset_job("load", partitions_def=DAYS)
        self.job = dg.Definitions(assets=[events], asset_checks=checks, jobs=[job]).resolve_job_def("load")

    def run(self, first: dt.date, last: dt.date | None = None) -> dict[str, list[dg.AssetCheckEvaluation]]:
        """The run's check evaluations by check name (for a range: each day's, then the range's)."""
        if last is None:
            result = self.job.execute_in_process(instance=self.instance, partition_key=first.isoformat())
        else:
            tags = {PARTITION_RANGE_START_TAG: first.isoformat(), PARTITION_RANGE_END_TAG: last.isoformat()}
            result = self.job.execute_in_process(instance=self.instance, tags=tags)
        assert result.success  # neither check blocks nor fails the run
        evaluations: dict[str, list[dg.AssetCheckEvaluation]] = {}
        for evaluation in result.get_asset_check_evaluations():
            evaluations.setdefault(evaluation.check_name, []).append(evaluation)
        return evaluations

    def day(self, day: dt.date, rows: int | None) -> dg.AssetCheckEvaluation:
        """One day loaded with `rows` rows (None: the loader records no count), and its anomaly check's verdict."""
        if rows is not None:
            self.rows[day.isoformat()] = rows
        [evaluation] = self.run(day)[CHECK_NAME]
        assert evaluation.partition == day.isoformat()
        return evaluation


@pytest.fixture
def instance():
    """A real instance kept in memory: its event log is SQLite's, as a laptop's (and ten times faster here)."""
    with dg.DagsterInstance.ephemeral() as instance:
        yield instance


def history(loads: Loads, weeks: int, seed: int = 1) -> list[dg.AssetCheckEvaluation]:
    """`weeks` weeks of normal days from FIRST, loaded in one range run: each day's evaluation."""
    rng = random.Random(seed)
    days = [FIRST + dt.timedelta(days=n) for n in range(7 * weeks)]
    loads.rows.update({day.isoformat(): normal_day(day, rng) for day in days})
    return [e for e in loads.run(days[0], days[-1])[CHECK_NAME] if e.partition is not None]


def test_a_day_with_a_tenth_of_the_events_warns_and_a_normal_day_passes(instance):
    loads = Loads(instance)
    days = history(loads, weeks=10)  # seventy normal days, weekends a third quieter, 5 % noise
    assert len(days) == 70 and all(e.passed for e in days), [e.description for e in days if not e.passed]
    assert "not enough history (0 of 8 earlier Mondays" in days[0].description
    assert "not enough history (7 of 8 earlier Sundays" in days[55].description
    assert "of the last 8 Sundays" in days[-1].description  # judged from the ninth week on
    assert all(e.severity == dg.AssetCheckSeverity.WARN and not e.blocking for e in days)

    monday = FIRST + dt.timedelta(weeks=10)
    quiet = loads.day(monday, 100)  # a tenth of a Monday
    assert not quiet.passed and quiet.severity == dg.AssetCheckSeverity.WARN and not quiet.blocking
    assert quiet.description.startswith(f"{monday}: 100 rows, 0.10 times the median")
    assert "of the last 8 Mondays" in quiet.description and "above the threshold 5" in quiet.description
    assert quiet.metadata["score"].value > 5

    sunday = monday + dt.timedelta(days=6)
    assert loads.day(sunday, 610).passed  # a usual Sunday: compared with Sundays, not with the week's median
    assert not loads.day(sunday + dt.timedelta(days=1), 610).passed  # a Sunday's volume on a Monday is not
    later = loads.day(monday + dt.timedelta(weeks=2), 1010)
    assert later.passed, later.description  # the quiet Monday is in its history now: the median shrugs it off


def test_a_day_ten_times_the_usual_warns_too(instance):
    loads = Loads(instance)
    history(loads, weeks=8)
    assert not loads.day(FIRST + dt.timedelta(weeks=8), 10_000).passed


def test_with_too_little_history_it_passes_and_says_so(instance):
    loads = Loads(instance)
    history(loads, weeks=3)
    monday = FIRST + dt.timedelta(weeks=3)
    verdict = loads.day(monday, 100)
    assert verdict.passed
    assert verdict.description == (
        f"{monday}: 100 rows; not enough history (3 of 8 earlier Mondays with a recorded count), passed without judging"
    )
    assert verdict.metadata["history_points"].value == 3 and "score" not in verdict.metadata


def test_a_range_run_judges_each_day_and_the_range(instance):
    loads = Loads(instance)
    history(loads, weeks=8)
    week = [FIRST + dt.timedelta(weeks=8, days=n) for n in range(7)]
    loads.rows.update({day.isoformat(): WEEKDAY_EVENTS[day.weekday()] for day in week})
    loads.rows[week[2].isoformat()] = 90  # Wednesday

    evaluations = loads.run(week[0], week[-1])[CHECK_NAME]

    per_day = {e.partition: e.passed for e in evaluations if e.partition is not None}
    assert per_day == {day.isoformat(): day != week[2] for day in week}
    [whole] = [e for e in evaluations if e.partition is None]
    assert not whole.passed and whole.description.startswith(f"{week[2]}: 90 rows")
    # each day's evaluation targets that day's materialization, so the UI counts it for the day
    materialized = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(["staging", "events"]), asset_partitions=[week[2].isoformat()]),
        limit=1,
    ).records[0]
    [wednesday] = [e for e in evaluations if e.partition == week[2].isoformat()]
    assert wednesday.target_materialization_data.storage_id == materialized.storage_id


def test_error_severity_when_configured(instance):
    loads = Loads(instance, VolumeAnomaly(history=4, severity="error"))
    history(loads, weeks=4)
    verdict = loads.day(FIRST + dt.timedelta(weeks=4), 100)
    assert not verdict.passed and verdict.severity == dg.AssetCheckSeverity.ERROR and not verdict.blocking


def test_a_day_whose_load_recorded_no_count_fails_saying_so(instance):
    loads = Loads(instance)
    history(loads, weeks=8)
    day = FIRST + dt.timedelta(weeks=8)
    verdict = loads.day(day, None)
    assert not verdict.passed
    assert (
        verdict.description
        == f"{day}: no {PARTITION_ROW_COUNT} recorded by its latest materialization, nothing to judge"
    )


def test_missing_days_are_skipped_back_to_twice_the_history(instance):
    loads = Loads(instance, VolumeAnomaly(history=2))
    for weeks_back in (4, 3):  # the Mondays 3 and 4 weeks before; the two just before were never loaded
        day = FIRST + dt.timedelta(weeks=4 - weeks_back)
        loads.rows[day.isoformat()] = 1000
        loads.run(day)
    verdict = loads.day(FIRST + dt.timedelta(weeks=4), 100)
    assert not verdict.passed and "of the last 2 Mondays" in verdict.description
    loads = Loads(instance, VolumeAnomaly(history=1))  # looks back two Mondays only: both missing
    assert "not enough history (0 of 1" in loads.day(FIRST + dt.timedelta(weeks=7), 100).description


def test_a_changed_column_type_fails_the_schema_check(instance):
    loads = Loads(instance)
    loads.rows[FIRST.isoformat()] = 1000
    [first] = loads.run(FIRST)["column_schema_change"]
    assert first.passed and first.description == "The asset has been materialized fewer than 2 times"
    [same] = loads.run(FIRST + dt.timedelta(days=1))["column_schema_change"]
    assert same.passed, same.description
    loads.columns["user_id"] = "bigint"
    [changed] = loads.run(FIRST + dt.timedelta(days=2))["column_schema_change"]
    assert not changed.passed and changed.severity == dg.AssetCheckSeverity.WARN
    assert "user_id: text -> bigint" in changed.description


# Each pipeline's partitioned loader, the partitions of its history (newest first) and the one judged.
PIPELINES = {
    "sparkify": (["staging", "staging_events"], ["2024-01-08", "2024-01-01"], "2024-01-15", "SPARKIFY"),
    "weather": (
        ["api_staging", "weather_stage"],
        ["2024-02-02-13:00", "2024-02-01-13:00"],
        "2024-02-03-13:00",
        "WEATHER",
    ),
    "nyc_taxi": (["nyc", "green_trips"], ["2021-03-01", "2021-02-01"], "2021-04-01", "NYC_TAXI"),
}


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_each_pipeline_judges_its_loader_with_its_settings(instance, pipeline):
    asset, earlier, judged, prefix = PIPELINES[pipeline]
    defs = definitions({f"{prefix}_ANOMALY_HISTORY": "2", f"{prefix}_ANOMALY_SEVERITY": "error"})
    key = dg.AssetCheckKey(dg.AssetKey(asset), CHECK_NAME)
    spec = defs.resolve_asset_graph().get_check_spec(key)
    assert not spec.blocking and spec.partitions_def is not None
    counts = {earlier[0]: 1000, earlier[1]: 1040, judged: 100}
    for partition, rows in counts.items():
        instance.report_runless_asset_event(
            dg.AssetMaterialization(asset, partition=partition, metadata={PARTITION_ROW_COUNT: rows})
        )
    job = dg.define_asset_job("anomaly", selection=dg.AssetSelection.checks(key))
    result = (
        dg.Definitions.merge(defs, dg.Definitions(jobs=[job]))
        .resolve_job_def("anomaly")
        .execute_in_process(instance=instance, tags={"dagster/partition": judged})
    )
    [verdict] = result.get_asset_check_evaluations()
    assert (verdict.partition, verdict.passed, verdict.severity) == (judged, False, dg.AssetCheckSeverity.ERROR)
    assert "of the last 2 " in verdict.description, verdict.description


# The false-alarm rate of the statistic (docs/running-unattended.md): the check's own verdict (`judge`) on every
# partition of a long series that has its full history, as is (a flag there is a false alarm) and cut to a tenth
# (a flag there is a detection). The sample-data generators' series, then simulations of day-to-day variation.
def judged(counts: list[int], season: int, anomaly: VolumeAnomaly) -> tuple[int, int, int]:
    """(partitions judged, false alarms, tenths flagged) over a series whose comparable partitions are `season`
    apart: each partition with `anomaly.history` comparable ones before it."""
    judged = alarms = caught = 0
    for n in range(anomaly.history * season, len(counts)):
        earlier = counts[n - season :: -season][: anomaly.history]
        judged += 1
        alarms += not judge("p", counts[n], earlier, anomaly, "").passed
        caught += not judge("p", counts[n] // 10, earlier, anomaly, "").passed
    return judged, alarms, caught


def sparkify_sample_days(tmp_path) -> list[int]:
    """Events per day of 91 days of the sample lake, as `make demo` writes them (300 a day)."""
    from pipeline.defs.sparkify import layout
    from pipeline.defs.sparkify.sample_data import SampleSpec, generate_lake

    lake = generate_lake(tmp_path / "lake", SampleSpec(days=91, song_files=20, users=25), progress=False)
    return [len((tmp_path / "lake" / layout.event_key(day)).read_text().splitlines()) for day in lake.days]


def weather_demo_hours() -> list[int]:
    """Cities per hour the demo API answers for 30 days of hours."""
    from pipeline.defs.weather.demo_api import hour_answers

    start = dt.datetime(2024, 1, 4, tzinfo=dt.UTC)
    return [len(hour_answers(start + dt.timedelta(hours=n))[0]) for n in range(30 * 24)]


def taxi_sample_months(tmp_path) -> list[int]:
    """Trips per month of 24 months of the sample generator, as the demo writes them (2,000 a month)."""
    from pipeline.defs.nyc_taxi.sample_data import TaxiSpec, generate_months

    return [m.data_rows for m in generate_months(tmp_path / "taxi", TaxiSpec(months=24, trips_per_month=2000))]


def simulated(levels: list[float], noise: float, length: int, seeds: int) -> list[list[int]]:
    """Series of `length` counts repeating `levels` (a week's days, a year's months), each times e^N(0, noise)."""
    series = []
    for seed in range(seeds):
        rng = random.Random(seed)
        series.append([round(levels[n % len(levels)] * math.exp(rng.gauss(0, noise))) for n in range(length)])
    return series


def cities_missing(length: int, share: float, seeds: int) -> list[list[int]]:
    """200 cities an hour, each missing from an hour's answers with probability `share`."""
    return [
        [sum(rng.random() >= share for _ in range(200)) for _ in range(length)]
        for rng in (random.Random(seed) for seed in range(seeds))
    ]


YEARLY = [1 + 0.15 * math.sin(2 * math.pi * month / 12) for month in range(12)]  # ±15 % over the year


def measured(tmp_path) -> dict[str, tuple[int, int, int]]:
    """Each series of the documentation's table: (judged, false alarms, tenths flagged), with each pipeline's
    default history and threshold."""
    sparkify, weather, taxi = (  # the settings' defaults
        settings.model_validate({}).volume_anomaly()
        for settings in (SparkifySettings, WeatherSettings, NycTaxiSettings)
    )
    week = [float(level) for level in WEEKDAY_EVENTS]
    months = simulated([60_000 * level for level in YEARLY], 0.10, 600, 10)

    def pooled(series: list[list[int]], season: int, anomaly: VolumeAnomaly) -> tuple[int, int, int]:
        totals = [judged(counts, season, anomaly) for counts in series]
        return tuple(sum(column) for column in zip(*totals, strict=True))

    return {
        "Sparkify, the sample lake's days": judged(sparkify_sample_days(tmp_path), 7, sparkify),
        "weather, the demo API's hours": judged(weather_demo_hours(), 24, weather),
        "taxi, the sample generator's months": judged(taxi_sample_months(tmp_path), 1, taxi),
        "days, weekly rhythm, 5 % noise": pooled(simulated(week, 0.05, 1000, 10), 7, sparkify),
        "days, weekly rhythm, 10 % noise": pooled(simulated(week, 0.10, 1000, 10), 7, sparkify),
        "days, weekly rhythm, 20 % noise": pooled(simulated(week, 0.20, 1000, 10), 7, sparkify),
        "days, weekly rhythm, 30 % noise": pooled(simulated(week, 0.30, 1000, 10), 7, sparkify),
        "hours, 200 cities, each missing 1 % of the time": pooled(cities_missing(2000, 0.01, 5), 24, weather),
        "months, ±15 % yearly, 10 % noise": pooled(months, 1, taxi),
        "days, 10 % noise, threshold 3.5": pooled(simulated(week, 0.10, 1000, 10), 7, replace(sparkify, threshold=3.5)),
        "months, 10 % noise, threshold 3.5": pooled(months, 1, replace(taxi, threshold=3.5)),
    }


def documented_rates() -> dict[str, tuple[int, int, int]]:
    """The table under "False alarms" in docs/running-unattended.md: series | judged | false alarms | tenths."""
    text = (Path(__file__).resolve().parent.parent / "docs" / "running-unattended.md").read_text()
    section = text.split("### False alarms", 1)[1].split("\n#", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 4 and cells[1].replace(",", "").isdigit():
            numbers = [int(re.match(r"[\d,]+", cell)[0].replace(",", "")) for cell in cells[1:]]
            rows[cells[0]] = tuple(numbers)
    return rows


def test_the_documented_false_alarm_rates_are_measured(tmp_path):
    assert measured(tmp_path) == documented_rates()
