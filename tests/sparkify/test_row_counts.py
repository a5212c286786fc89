"""What a range run records: each day's own `dagster/partition_row_count` on that day's materialization, for the
staging load and for the daily dbt models, equal to the day's rows in the table; `dagster/row_count` for the
tables that are not counted by day."""

import datetime as dt

import duckdb
import pytest

from pipeline.defs.sparkify.layout import event_key
from pipeline.defs.sparkify.sample_data import SampleSpec, generate_lake
from tests.platform import recorded_metadata
from tests.sparkify.runs import materialize_all

SPEC = SampleSpec(days=7, events_per_day=250, song_files=60, users=20, seed=7)


@pytest.fixture(scope="module")
def week_lake(tmp_path_factory):
    """Seven days whose event files are cut to different lengths (the generator writes the same number each day)."""
    lake = generate_lake(tmp_path_factory.mktemp("week"), SPEC, progress=False)
    for n, day in enumerate(lake.days):
        path = lake.root / event_key(day)
        lines = path.read_text().splitlines(keepends=True)
        path.write_text("".join(lines[: len(lines) - 17 * n]))
    return lake


@pytest.fixture(scope="module")
def week_run(tmp_path_factory, week_lake, extension_dir):
    """The song catalogue, then the seven days as one range run."""
    root = tmp_path_factory.mktemp("week_run")
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {
            "SPARKIFY_DATA_URI": str(week_lake.root),
            "WAREHOUSE": "duckdb",
            "DUCKDB_PATH": str(root / "warehouse.duckdb"),
            "DUCKDB_EXTENSION_DIR": str(extension_dir),
            "DAGSTER_HOME": str(root / "dagster_home"),
        }.items():
            patch.setenv(name, value)
        runs = materialize_all(list(week_lake.days))
        assert [name.split()[0] for name, _ in runs] == ["sparkify_songs", "sparkify_daily"]
        assert all(outcome.ok for _, outcome in runs), [outcome.errors for _, outcome in runs]
        yield str(root / "warehouse.duckdb"), week_lake.days


def count(db: str, sql: str) -> int:
    with duckdb.connect(db, read_only=True) as connection:
        return connection.execute(sql).fetchone()[0]


def epoch_ms(day: dt.date) -> int:
    return int(dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC).timestamp()) * 1000


def test_each_day_of_a_range_run_records_its_own_staged_rows(week_run):
    db, days = week_run
    per_day = {}
    for day in days:
        [metadata] = recorded_metadata(["staging", "staging_events"], day.isoformat())  # one event per day
        in_table = count(
            db,
            "select count(*) from staging.staging_events"
            f" where ts >= {epoch_ms(day)} and ts < {epoch_ms(day + dt.timedelta(days=1))}",
        )
        assert metadata["dagster/partition_row_count"] == in_table
        assert "dagster/row_count" not in metadata
        per_day[day] = in_table
    assert len(set(per_day.values())) == len(days), per_day  # the days' own counts, not one figure repeated
    assert sum(per_day.values()) == count(db, "select count(*) from staging.staging_events")


def test_each_day_of_a_range_run_records_its_own_songplays_and_time_rows(week_run):
    db, days = week_run
    for model in ("songplays", "time"):
        per_day = {}
        for day in days:
            [metadata] = recorded_metadata(["analytics", model], day.isoformat())
            per_day[day] = count(
                db,
                f"select count(*) from analytics.{model}"
                f" where start_time >= timestamp '{day}' and start_time < timestamp '{day + dt.timedelta(days=1)}'",
            )
            assert metadata["dagster/partition_row_count"] == per_day[day], (model, day)
        assert len(set(per_day.values())) > 1, (model, per_day)


def test_tables_not_counted_by_day_record_their_whole_count(week_run):
    db, days = week_run
    # users is replaced by user, not by day: every day's event carries the table's count.
    for day in days:
        [metadata] = recorded_metadata(["analytics", "users"], day.isoformat())
        assert metadata["dagster/row_count"] == count(db, "select count(*) from analytics.users")
        assert "dagster/partition_row_count" not in metadata
    for key in (["staging", "staging_songs"], ["analytics", "songs"], ["analytics", "artists"]):
        [metadata] = recorded_metadata(key)
        assert metadata["dagster/row_count"] == count(db, f"select count(*) from {'.'.join(key)}") > 0, key
