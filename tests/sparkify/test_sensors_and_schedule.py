"""The lake sensors and the daily schedule, evaluated as the daemon would, over a local folder and moto's S3."""

import datetime as dt
import json
import os

import dagster as dg
import pytest

from pipeline.defs.sparkify.layout import event_key
from pipeline.defs.sparkify.schedules import days_to_request
from pipeline.defs.sparkify.staging_assets import WAITING_FOR_SONGS
from pipeline.lib.lake import DataLakeResource
from tests.conftest import upload_tree
from tests.platform import default_definitions
from tests.s3_proxy import S3Proxy

DAYS = ["2018-11-01", "2018-11-02", "2018-11-03"]


def songs_loaded(instance: dg.DagsterInstance) -> dg.DagsterInstance:
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=["staging", "staging_songs"]))
    return instance


new_log_days_sensor, song_files_sensor = "new_log_days_sensor", "song_files_sensor"


def tick(sensor: str, uri: str, cursor: str | None, instance: dg.DagsterInstance | None = None):
    """One evaluation of the named sensor; by default in an instance where sparkify_songs has loaded the song
    catalogue."""
    lake = DataLakeResource(data_uri=uri)
    instance = instance or songs_loaded(dg.DagsterInstance.ephemeral())
    with dg.build_sensor_context(cursor=cursor, resources={"sparkify_lake": lake}, instance=instance) as context:
        return default_definitions().resolve_sensor_def(sensor)(context)


@pytest.fixture(params=["local", "s3"])
def lake_uri(request, copied_lake, s3_env):
    if request.param == "local":
        return str(copied_lake)
    upload_tree(s3_env, copied_lake, "sensor-lake", "raw")
    return "s3://sensor-lake/raw"


def _replace_day_file(lake_uri, copied_lake, s3_env, day: str) -> None:
    path = copied_lake / event_key(dt.date.fromisoformat(day))
    body = path.read_bytes() + b"\n"
    if lake_uri.startswith("s3://"):
        s3_env.put_object(Bucket="sensor-lake", Key=f"raw/{event_key(dt.date.fromisoformat(day))}", Body=body)
    else:
        path.write_bytes(body)
        os.utime(path, (path.stat().st_atime, path.stat().st_mtime + 60))


def test_each_day_is_requested_once_and_again_only_when_its_file_changes(lake_uri, copied_lake, s3_env):
    first = tick(new_log_days_sensor, lake_uri, None)
    assert [r.partition_key for r in first.run_requests] == DAYS
    assert len({r.run_key for r in first.run_requests}) == 3

    second = tick(new_log_days_sensor, lake_uri, first.cursor)
    assert second.run_requests == [] and second.cursor == first.cursor

    _replace_day_file(lake_uri, copied_lake, s3_env, "2018-11-02")
    third = tick(new_log_days_sensor, lake_uri, second.cursor)
    assert [r.partition_key for r in third.run_requests] == ["2018-11-02"]
    assert third.run_requests[0].run_key not in {r.run_key for r in first.run_requests}
    assert tick(new_log_days_sensor, lake_uri, third.cursor).run_requests == []


def test_days_wait_for_the_first_load_of_the_song_catalogue(copied_lake):
    instance = dg.DagsterInstance.ephemeral()
    waiting = tick(new_log_days_sensor, str(copied_lake), None, instance)
    assert waiting.run_requests == [] and waiting.cursor is None
    assert waiting.skip_reason.skip_message == WAITING_FOR_SONGS

    first = tick(new_log_days_sensor, str(copied_lake), waiting.cursor, songs_loaded(instance))
    assert [r.partition_key for r in first.run_requests] == DAYS


def test_a_new_day_and_files_outside_the_layout(copied_lake):
    first = tick(new_log_days_sensor, str(copied_lake), None)
    (copied_lake / "log_data/2018/11/notes.txt").write_text("not a day file")
    new_day = copied_lake / event_key(dt.date(2018, 11, 4))
    new_day.write_bytes((copied_lake / event_key(dt.date(2018, 11, 3))).read_bytes())
    result = tick(new_log_days_sensor, str(copied_lake), first.cursor)
    assert [r.partition_key for r in result.run_requests] == ["2018-11-04"]
    assert json.loads(result.cursor)["latest"] == "2018-11-04"


def _big_bucket(s3_env, bucket: str, days: int, other_objects: int) -> None:
    """Objects written straight into moto's in-process store: HTTP puts of 100k objects would take minutes."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    s3_env.create_bucket(Bucket=bucket)
    backend = s3_backends[DEFAULT_ACCOUNT_ID]["global"]
    first = dt.date(2018, 11, 1)
    for n in range(days):
        backend.put_object(bucket, f"lake/{event_key(first + dt.timedelta(days=n))}", b'{"ts": 1}')
    for n in range(other_objects):
        backend.put_object(bucket, f"lake/song_data/A/B/C/TR{n:016d}.json", b"{}")


@pytest.mark.parametrize("other_objects", [1_000, 100_000])
def test_a_tick_lists_the_same_whatever_the_bucket_size(s3_env, s3_endpoint, monkeypatch, other_objects):
    bucket = f"big-{other_objects}"
    _big_bucket(s3_env, bucket, days=1500, other_objects=other_objects)
    with S3Proxy(s3_endpoint) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
        first = tick(new_log_days_sensor, f"s3://{bucket}/lake", None)
        first_calls = proxy.list_calls()
        second = tick(new_log_days_sensor, f"s3://{bucket}/lake", first.cursor)
        second_calls = proxy.list_calls() - first_calls
    assert len(first.run_requests) == 1500
    assert first_calls == 2  # 1500 day files in pages of 1000; the song files are never listed
    assert second.run_requests == [] and second_calls == 1  # only the look-back window and after


def test_the_song_sensor_fires_on_a_new_song_file_only(copied_lake):
    first = tick(song_files_sensor, str(copied_lake), None)
    assert len(first.run_requests) == 1
    assert tick(song_files_sensor, str(copied_lake), first.cursor).run_requests == []
    extra = copied_lake / "song_data/Z/Z/Z/TRZZZNEW000000001.json"
    extra.parent.mkdir(parents=True, exist_ok=True)
    extra.write_text('{"song_id": "SONEW", "title": "New", "artist_id": "ARNEW", "artist_name": "N", "duration": 1.0}')
    assert len(tick(song_files_sensor, str(copied_lake), first.cursor).run_requests) == 1


def test_the_schedule_runs_each_missed_day_once_after_a_gap(tmp_path):
    assert days_to_request(dt.datetime(2018, 11, 5, 0, 15, tzinfo=dt.UTC), 7, set(), dt.date(2018, 11, 1)) == [
        dt.date(2018, 11, 1),
        dt.date(2018, 11, 2),
        dt.date(2018, 11, 3),
        dt.date(2018, 11, 4),
    ]

    def evaluate(instance, when: dt.datetime):
        with dg.build_schedule_context(instance=instance, scheduled_execution_time=when) as context:
            return default_definitions().resolve_schedule_def("sparkify_daily_schedule")(context)

    def loaded(instance, day: str) -> None:
        instance.report_runless_asset_event(
            dg.AssetMaterialization(asset_key=["staging", "staging_events"], partition=day)
        )

    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        waiting = evaluate(instance, dt.datetime(2018, 11, 2, 0, 15, tzinfo=dt.UTC))
        assert isinstance(waiting, dg.SkipReason) and waiting.skip_message == WAITING_FOR_SONGS
        songs_loaded(instance)
        assert [r.partition_key for r in evaluate(instance, dt.datetime(2018, 11, 2, 0, 15, tzinfo=dt.UTC))] == [
            "2018-11-01"
        ]
        loaded(instance, "2018-11-01")
        # The host is down from the 2nd to the 6th: the next tick requests each day it missed, once.
        requests = evaluate(instance, dt.datetime(2018, 11, 6, 0, 15, tzinfo=dt.UTC))
        assert [r.partition_key for r in requests] == ["2018-11-02", "2018-11-03", "2018-11-04", "2018-11-05"]
        assert [r.run_key for r in requests] == ["2018-11-02", "2018-11-03", "2018-11-04", "2018-11-05"]
        for request in requests:
            loaded(instance, request.partition_key)
        assert isinstance(evaluate(instance, dt.datetime(2018, 11, 6, 1, 15, tzinfo=dt.UTC)), dg.SkipReason)
