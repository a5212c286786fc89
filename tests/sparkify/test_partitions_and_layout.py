"""Partition keys and lake keys: the pure pieces every asset relies on."""

import datetime as dt

import dagster as dg
import pytest

from pipeline.defs.sparkify.layout import (
    day_of_event_key,
    event_key,
    is_song_key,
    jsonpaths_document,
    snake_case,
    song_key,
)
from pipeline.defs.sparkify.partitions import daily_partitions, day_epoch_ms, parse_day
from pipeline.lib.dbt.build import window_variables
from tests.sparkify.tables import STAGING_EVENTS, STAGING_SONGS


def test_partitions_start_on_the_first_day_given():
    assert daily_partitions(dt.date(2018, 11, 1)).get_first_partition_key() == "2018-11-01"


@pytest.mark.parametrize("bad", ["2018-11-1", "2018-02-30", "20181101", "2018-11-01' or 1=1 --", "", None])
def test_partition_keys_must_be_real_dates(bad):
    with pytest.raises(ValueError, match="is not a date"):
        parse_day(bad)


def test_a_day_in_epoch_milliseconds():
    assert day_epoch_ms(dt.date(2018, 11, 1)) == (1541030400000, 1541116800000)


@pytest.mark.parametrize(
    ("partitions", "first", "last", "window"),
    [
        (dg.DailyPartitionsDefinition("2018-11-01"), "2018-11-29", "2018-11-30", ("2018-11-29", "2018-12-01")),
        (
            dg.HourlyPartitionsDefinition("2024-01-04-11:00"),
            "2024-01-04-23:00",
            "2024-01-05-00:00",
            ("2024-01-04T23:00", "2024-01-05T01:00"),
        ),
        (dg.MonthlyPartitionsDefinition("2020-01-01"), "2020-01-01", "2020-02-01", ("2020-01-01", "2020-03-01")),
    ],
    ids=["days", "hours", "months"],
)
def test_the_dbt_window_covers_the_partitions_half_open(partitions, first, last, window):
    # what context.partition_time_window is for a run over first..last
    time_window = dg.TimeWindow(
        partitions.time_window_for_partition_key(first).start, partitions.time_window_for_partition_key(last).end
    )
    assert window_variables(time_window) == {"DBT_WINDOW_START": window[0], "DBT_WINDOW_END": window[1]}


def test_event_keys_round_trip_and_reject_other_layouts():
    assert event_key(dt.date(2018, 11, 5)) == "log_data/2018/11/2018-11-05-events.json"
    assert day_of_event_key("log_data/2018/11/2018-11-05-events.json") == dt.date(2018, 11, 5)
    for other in (
        "log_data/2018/12/2018-11-05-events.json",
        "log_data/2018/11/2018-11-31-events.json",
        "log_data/2018/11/notes.txt",
        "song_data/A/B/C/TRABC.json",
    ):
        assert day_of_event_key(other) is None


def test_song_keys_use_letters_three_to_five_of_the_track_id():
    assert song_key("TRABCEI128F424C983") == "song_data/A/B/C/TRABCEI128F424C983.json"
    assert is_song_key("song_data/A/B/C/TRABCEI128F424C983.json")
    assert not is_song_key("song_data/A/B/TRABCEI128F424C983.json")


def test_staging_columns_are_the_fields_in_snake_case_in_jsonpaths_order():
    assert snake_case("itemInSession") == "item_in_session" and snake_case("ts") == "ts"
    assert [c.name for c in STAGING_EVENTS.columns] == [
        "artist",
        "auth",
        "first_name",
        "gender",
        "item_in_session",
        "last_name",
        "length",
        "level",
        "location",
        "method",
        "page",
        "registration",
        "session_id",
        "song",
        "status",
        "ts",
        "user_agent",
        "user_id",
    ]
    assert jsonpaths_document()["jsonpaths"][0] == "$['artist']"
    types = {c.name: c.type for c in STAGING_EVENTS.columns + STAGING_SONGS.columns}
    assert (types["ts"], types["registration"], types["user_id"], types["length"], types["duration"]) == (
        "bigint",
        "double",
        "text",
        "double",
        "double",
    )
