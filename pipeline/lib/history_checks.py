"""Checks of a loaded table against its own history in the instance: its volume and its columns.

The volume-anomaly check judges a partition's row count (the loaders' `dagster/partition_row_count`) against the
counts recorded for earlier partitions of its season, with a robust statistic (median and MAD of the last N
comparable partitions); docs/running-unattended.md gives it and its false-alarm rate. The column-schema check is
Dagster's, comparing `dagster/column_schema` between the latest two materializations.
"""

import datetime as dt
import math
import statistics
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import dagster as dg

from pipeline.lib.dagster_internals import latest_materialization_target
from pipeline.lib.metadata import PARTITION_ROW_COUNT

CHECK_NAME = "no_volume_anomaly"
# 1.4826 * MAD estimates the standard deviation of normal data, so the score reads as "standard deviations".
MAD_TO_SIGMA = 1.4826
# The spread is never taken as narrower than 5 % of the median: a history of equal counts (MAD 0, as every
# sample-data generator here writes) would otherwise flag a change of one row.
MIN_RELATIVE_SPREAD = math.log(1.05)
# How far back comparable partitions are looked for: twice the history, so a few missing partitions are skipped.
LOOKBACK_FACTOR = 2


@dataclass(frozen=True)
class VolumeAnomaly:
    """How a pipeline judges its volumes: the comparable partitions it needs, the score that flags, the severity."""

    history: int = 8
    threshold: float = 5.0
    severity: Literal["warn", "error"] = "warn"

    @property
    def check_severity(self) -> dg.AssetCheckSeverity:
        return dg.AssetCheckSeverity[self.severity.upper()]


@dataclass(frozen=True)
class Season:
    """Which earlier partitions are comparable: those a whole number of periods earlier (no period: all of them)."""

    label: str  # the comparable partitions, in a sentence: "Mondays", "hours at 14:00", "partitions"
    period: dt.timedelta | None = None


def season_of(partitions_def: dg.TimeWindowPartitionsDefinition, start: dt.datetime) -> Season:
    """Same weekday for daily partitions, same hour of day for hourly ones; none for any other (monthly)."""
    if isinstance(partitions_def, dg.DailyPartitionsDefinition):
        return Season(f"{start:%A}s", dt.timedelta(days=7))
    if isinstance(partitions_def, dg.HourlyPartitionsDefinition):
        return Season(f"hours at {start:%H:%M}", dt.timedelta(days=1))
    return Season("partitions")


def log_count(count: int) -> float:
    return math.log1p(count)


@dataclass(frozen=True)
class Verdict:
    """One partition's count judged against its history (newest first), on the logarithm of the counts: a count's
    noise grows with its size, and a tenth of the usual is as far from it as ten times."""

    partition: str
    count: int | None
    history: tuple[int, ...]
    wanted: int
    threshold: float
    season: str

    @property
    def enough_history(self) -> bool:
        return len(self.history) >= self.wanted

    @property
    def median(self) -> float:
        """In rows (the median of the logarithms is the logarithm of the median, for an odd history)."""
        return math.expm1(self._center)

    @property
    def _center(self) -> float:
        return statistics.median(log_count(value) for value in self.history)

    @property
    def spread(self) -> float:
        """1.4826 MAD of the log counts, never narrower than MIN_RELATIVE_SPREAD."""
        mad = statistics.median(abs(log_count(value) - self._center) for value in self.history)
        return max(MAD_TO_SIGMA * mad, MIN_RELATIVE_SPREAD)

    @property
    def score(self) -> float:
        return abs(log_count(self.count) - self._center) / self.spread

    @property
    def passed(self) -> bool:
        if self.count is None:
            return False
        return not self.enough_history or self.score <= self.threshold

    @property
    def description(self) -> str:
        if self.count is None:
            return (
                f"{self.partition}: no {PARTITION_ROW_COUNT} recorded by its latest materialization, nothing to judge"
            )
        if not self.enough_history:
            return (
                f"{self.partition}: {self.count} rows; not enough history ({len(self.history)} of {self.wanted} "
                f"earlier {self.season} with a recorded count), passed without judging"
            )
        verdict = "above" if self.score > self.threshold else "within"
        return (
            f"{self.partition}: {self.count} rows, {self.count / max(self.median, 1):.2f} times the median "
            f"{self.median:.0f} of the last {len(self.history)} {self.season} (spread ±{math.expm1(self.spread):.1%}): "
            f"{self.score:.1f} robust deviations, {verdict} the threshold {self.threshold:g}"
        )

    def metadata(self) -> dict[str, object]:
        values: dict[str, object] = {"history_points": len(self.history), "history_wanted": self.wanted}
        if self.count is not None:
            values["row_count"] = self.count
        if self.count is not None and self.enough_history:
            values |= {
                "median": round(self.median, 1),
                "spread_percent": round(100 * math.expm1(self.spread), 1),
                "score": round(self.score, 2),
                "threshold": self.threshold,
            }
        return values


def judge(partition: str, count: int | None, history: Sequence[int], anomaly: VolumeAnomaly, season: str) -> Verdict:
    """The verdict on `count` given the comparable earlier counts, newest first (only the first N are used)."""
    used = tuple(history[: anomaly.history])
    return Verdict(partition, count, used, anomaly.history, anomaly.threshold, season)


def comparable_partitions(partitions_def: dg.TimeWindowPartitionsDefinition, partition: str, wanted: int) -> list[str]:
    """The partitions before `partition` of its season, newest first: up to LOOKBACK_FACTOR times `wanted`."""
    window = partitions_def.time_window_for_partition_key(partition)
    period, keys = season_of(partitions_def, window.start).period, []
    while len(keys) < LOOKBACK_FACTOR * wanted:
        if period is None:
            window = partitions_def.get_prev_partition_window(window.start)
        else:  # an aware datetime's arithmetic is wall-clock: the same local hour across a DST change
            window = dg.TimeWindow(window.start - period, window.end - period)
        if window is None or window.start < partitions_def.start:
            break
        keys.append(window.start.strftime(partitions_def.fmt))
    return keys


def recorded_counts(instance: dg.DagsterInstance, asset_key: dg.AssetKey, partitions: Sequence[str]) -> dict[str, int]:
    """Each partition's row count as its latest materialization recorded it; one that recorded none is absent."""
    counts, seen, cursor = {}, set(), None
    records_filter = dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=list(partitions))
    while len(seen) < len(set(partitions)):
        page = instance.fetch_materializations(records_filter, limit=200, cursor=cursor)
        for record in page.records:  # newest first: a partition's first record is its latest materialization
            if record.partition_key in seen:
                continue
            seen.add(record.partition_key)
            count = record.asset_materialization.metadata.get(PARTITION_ROW_COUNT)
            if count is not None:
                counts[record.partition_key] = int(count.value)
        if not page.has_more:
            break
        cursor = page.cursor
    return counts


def verdict_for(
    instance: dg.DagsterInstance,
    asset_key: dg.AssetKey,
    partitions_def: dg.TimeWindowPartitionsDefinition,
    partition: str,
    anomaly: VolumeAnomaly,
) -> Verdict:
    """The partition's latest recorded count judged against its comparable partitions' latest recorded counts."""
    earlier = comparable_partitions(partitions_def, partition, anomaly.history)
    counts = recorded_counts(instance, asset_key, [partition, *earlier])
    season = season_of(partitions_def, partitions_def.time_window_for_partition_key(partition).start).label
    return judge(partition, counts.get(partition), [counts[k] for k in earlier if k in counts], anomaly, season)


def volume_anomaly_check(asset: dg.AssetsDefinition, anomaly: VolumeAnomaly) -> dg.AssetChecksDefinition:
    """A non-blocking check of each partition a run materialized of the (time-partitioned) asset."""
    partitions_def = asset.partitions_def
    if not isinstance(partitions_def, dg.TimeWindowPartitionsDefinition):
        raise TypeError(f"{asset.key.to_user_string()}: a volume-anomaly check needs time-window partitions")

    @dg.asset_check(
        asset=asset,
        name=CHECK_NAME,
        partitions_def=partitions_def,
        blocking=False,
        description=f"Each partition's row count is within {anomaly.threshold:g} robust deviations (MAD) of the "
        f"median of the last {anomaly.history} comparable partitions (same weekday, same hour of day); passes, "
        "saying so, while fewer are recorded.",
    )
    def no_volume_anomaly(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        instance = context.instance
        verdicts = [verdict_for(instance, asset.key, partitions_def, key, anomaly) for key in context.partition_keys]
        if context.op_execution_context.has_partition_key:
            [verdict] = verdicts
            return _result(verdict, anomaly.check_severity)
        # A range run: one evaluation per partition (the UI keeps a partitioned check's status per partition; the
        # result returned for the whole range carries none), then the range's.
        for verdict in verdicts:
            context.op_execution_context.log_event(
                dg.AssetCheckEvaluation(
                    asset_key=asset.key,
                    check_name=CHECK_NAME,
                    passed=verdict.passed,
                    partition=verdict.partition,
                    description=verdict.description,
                    metadata=verdict.metadata(),
                    severity=anomaly.check_severity,
                    target_materialization_data=latest_materialization_target(instance, asset.key, verdict.partition),
                    blocking=False,
                )
            )
        flagged = [v.description for v in verdicts if not v.passed]
        return dg.AssetCheckResult(
            passed=not flagged,
            severity=anomaly.check_severity,
            description="; ".join(flagged) or f"{len(verdicts)} partitions within their history",
            metadata={"partitions_checked": len(verdicts), "partitions_flagged": len(flagged)},
        )

    return no_volume_anomaly


def _result(verdict: Verdict, severity: dg.AssetCheckSeverity) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=verdict.passed, severity=severity, description=verdict.description, metadata=verdict.metadata()
    )


def column_schema_change_checks(assets: Sequence[dg.AssetsDefinition]) -> Sequence[dg.AssetChecksDefinition]:
    """Dagster's check that each asset's latest two materializations have the same `dagster/column_schema`
    (severity WARN). The factory is beta in Dagster 1.13: only that notice is silenced, here where they are built."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        return dg.build_column_schema_change_checks(assets=assets)
