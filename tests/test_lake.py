"""The data lake interface over a local folder and over a real S3 endpoint (moto's server on loopback)."""

import datetime as dt

import pytest

from pipeline.defs.sparkify.lake_files import day_files, song_files
from pipeline.defs.sparkify.layout import LOG_FILES
from pipeline.lib.lake import LocalLake, S3Lake, open_lake
from pipeline.lib.partitioned_files import MissingFiles
from tests.conftest import upload_tree


def test_open_lake_understands_folders_file_uris_and_s3(tmp_path, s3_env):
    assert isinstance(open_lake(str(tmp_path)), LocalLake)
    assert open_lake(f"file://{tmp_path}").root == str(tmp_path)
    s3_env.create_bucket(Bucket="uri-test")
    lake = open_lake("s3://uri-test/some/prefix/")
    assert isinstance(lake, S3Lake) and lake.uri("log_data/x.json") == "s3://uri-test/some/prefix/log_data/x.json"
    with pytest.raises(ValueError, match="no bucket"):
        open_lake("s3:///prefix")
    with pytest.raises(ValueError, match="unsupported"):
        open_lake("ftp://host/x")


@pytest.fixture(params=["local", "s3"])
def lake(request, sample_lake, s3_env):
    if request.param == "local":
        return open_lake(str(sample_lake.root))
    upload_tree(s3_env, sample_lake.root, "lake-test", "udacity")
    return open_lake("s3://lake-test/udacity")


def test_the_same_objects_are_seen_locally_and_on_s3(lake, sample_lake):
    assert sorted(LOG_FILES.present(lake)[0]) == [day.isoformat() for day in sample_lake.days]
    assert len(song_files(lake)) == sample_lake.song_files
    [obj] = day_files(lake, [sample_lake.days[0]])
    assert obj.key == f"log_data/2018/11/{sample_lake.days[0]}-events.json"
    assert obj.size == (sample_lake.root / obj.key).stat().st_size and obj.version
    with lake.open(obj.key) as stream:
        assert stream.read() == (sample_lake.root / obj.key).read_bytes()


def test_listing_after_a_key_returns_only_later_keys(lake, sample_lake):
    first = f"log_data/2018/11/{sample_lake.days[0]}-events.json"
    later = [o.key for o in lake.list("log_data/", start_after=first)]
    assert later == [f"log_data/2018/11/{d}-events.json" for d in sample_lake.days[1:]]


def test_missing_days_are_named_with_their_uris(lake):
    with pytest.raises(MissingFiles) as error:
        day_files(lake, [dt.date(2018, 11, 1), dt.date(2018, 12, 24)])
    assert "2018-12-24" in str(error.value) and lake.uri("log_data/2018/12/2018-12-24-events.json") in str(error.value)
    assert "2018-11-01 (" not in str(error.value)


def test_a_put_object_is_read_back_and_a_deleted_one_is_gone(lake):
    written = lake.put("scratch/a.parquet", b"abc")
    assert written.size == 3 and lake.stat("scratch/a.parquet").size == 3
    lake.delete("scratch/a.parquet")
    lake.delete("scratch/never-there.parquet")  # not an error: a month's folder is cleaned whatever it holds
    assert lake.stat("scratch/a.parquet") is None
    assert [o.key for o in lake.list("scratch/")] == []
