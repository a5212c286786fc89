"""The Python reader of raw JSON: object boundaries, line numbers, and the contract breaks it names."""

import io

import pytest

import pipeline.lib.json_records as json_records
from pipeline.lib.json_records import RawDataError, count_objects, find_problem, iter_objects
from tests.sparkify.tables import STAGING_EVENTS, STAGING_SONGS

MIXED = '{"a": 1}\n{"a": 2}{"b":\n 3}\n\n{\n  "c": "Bj\\u00f6rk \\/ \\"x\\"",\n  "d": "Sigur R\u00f3s"\n}'.encode()


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 1 << 20])
def test_objects_and_their_first_lines_whatever_the_chunking(monkeypatch, chunk):
    monkeypatch.setattr(json_records, "_CHUNK", chunk)
    assert list(iter_objects(io.BytesIO(MIXED), "f")) == [
        (1, {"a": 1}),
        (2, {"a": 2}),
        (2, {"b": 3}),
        (5, {"c": 'Björk / "x"', "d": "Sigur Rós"}),
    ]


def test_no_trailing_newline_and_empty_files_count_right():
    assert count_objects(io.BytesIO(b'{"a":1}\n{"a":2}'), "f") == 2
    assert count_objects(io.BytesIO(b""), "f") == 0
    assert count_objects(io.BytesIO(b"\n \n"), "f") == 0


def test_a_broken_line_is_named_by_the_line_it_starts_on():
    with pytest.raises(RawDataError) as error:
        list(iter_objects(io.BytesIO(b'{"a":1}\n{"a":2}\n{"a": 3, "b\n{"a":4}'), "s3://b/k.json"))
    assert str(error.value).startswith("s3://b/k.json, line 3: malformed JSON")
    assert error.value.line == 3


def test_top_level_values_must_be_objects():
    with pytest.raises(RawDataError, match=r"line 2: expected a JSON object, found list"):
        list(iter_objects(io.BytesIO(b'{"a":1}\n[1, 2]'), "f"))


@pytest.mark.parametrize("chunk", [1, 5, 1 << 20])
def test_invalid_utf8_names_its_line_and_column_whatever_the_chunking(monkeypatch, chunk):
    monkeypatch.setattr(json_records, "_CHUNK", chunk)
    data = b'{"a": 1}\n\n{\n "a":\n  "x\xff"}\n{"a": 2}'
    with pytest.raises(RawDataError) as error:
        list(iter_objects(io.BytesIO(data), "f"))
    assert str(error.value) == "f, line 5: not UTF-8 text: byte(s) ff at column 5"


@pytest.mark.parametrize("chunk", [1, 2, 3, 1 << 20])
@pytest.mark.parametrize("end", [b"\n", b"\r\n", b"\r"], ids=["LF", "CRLF", "lone-CR"])
def test_a_line_ends_at_lf_crlf_or_a_lone_cr_whatever_the_chunking(monkeypatch, chunk, end):
    # As every CSV reader of the platform ends a line (pipeline/lib/text_lines.py): line numbers agree.
    monkeypatch.setattr(json_records, "_CHUNK", chunk)
    data = end.join([b'{"a": 1}', b"", b'{"a":', b" 2}", b'{"a": 3}', b'{"a": "x\xff"}'])
    assert list(iter_objects(io.BytesIO(data.rsplit(end, 1)[0]), "f")) == [(1, {"a": 1}), (3, {"a": 2}), (5, {"a": 3})]
    with pytest.raises(RawDataError) as error:
        list(iter_objects(io.BytesIO(data), "f"))
    assert str(error.value) == "f, line 6: not UTF-8 text: byte(s) ff at column 9"


@pytest.mark.parametrize("chunk", [1, 2, 1 << 20])
def test_a_byte_order_mark_at_the_start_is_skipped(monkeypatch, chunk):
    monkeypatch.setattr(json_records, "_CHUNK", chunk)
    data = "\ufeff".encode() + b'{"a": 1}\n{"a": 2}\n'
    assert list(iter_objects(io.BytesIO(data), "f")) == [(1, {"a": 1}), (2, {"a": 2})]


def test_an_object_where_text_is_expected_is_text_and_an_unloaded_nan_is_ignored():
    data = b'{"ts": 5, "userAgent": {"x": [1, "\xc3\xa9"]}, "extra": NaN}'
    assert find_problem(io.BytesIO(data), "k", STAGING_EVENTS) is None


@pytest.mark.parametrize(
    "line, field, problem",
    [
        (b'{"ts": "later", "userId": "1"}', "ts", 'expected a bigint, found "later"'),
        (b'{"ts": 1.5}', "ts", "expected a whole number, found 1.5"),
        (b'{"ts": 5, "sessionId": 99999999999}', "sessionId", "out of range for an integer"),
        (b'{"ts": 5, "sessionId": {"x": 1}}', "sessionId", "found a JSON object"),
        (b'{"ts": 5, "length": NaN}', "length", "NaN is not valid JSON"),
        (b'{"ts": 5, "length": -Infinity}', "length", "-Infinity is not valid JSON"),
        (b'{"ts": 5, "length": "Infinity"}', "length", 'expected a finite number, found "Infinity"'),
        (b'{"ts": 5, "length": 1e400}', "length", "expected a finite number"),
        (b'{"ts": 5, "artist": "a\\u0000b"}', "artist", "NUL character"),
        (b'{"ts": 5, "length": true}', "length", "expected a double, found true"),
    ],
)
def test_type_problems_name_the_field(line, field, problem):
    found = find_problem(io.BytesIO(b'{"ts": 5}\n' + line), "k", STAGING_EVENTS)
    assert (found.line, found.field) == (2, field) and problem in found.problem


def test_the_window_catches_events_outside_their_day():
    found = find_problem(io.BytesIO(b'{"ts": 5}\n{"ts": 10}'), "k", STAGING_EVENTS, ("ts", 0, 10, "the day"))
    assert str(found) == "k, line 2, field 'ts': 10 is not in the day"
    assert find_problem(io.BytesIO(b'{"ts": 5}\n{"ts": 9}'), "k", STAGING_EVENTS, ("ts", 0, 10, "the day")) is None


def test_real_quirks_are_not_problems():
    song = b'{"artist_id": "AR1", "artist_latitude": null, "artist_location": "", "duration": 218.93179, "year": 0}'
    event = (
        b'{"artist":null,"registration":1540919166796.0,"sessionId":38,"ts":1541105830796,'
        b'"userAgent":"\\"Mozilla\\/5.0\\"","userId":"","length":null}'
    )
    assert find_problem(io.BytesIO(song + song), "k", STAGING_SONGS) is None
    assert find_problem(io.BytesIO(event), "k", STAGING_EVENTS) is None
