"""Sparkify on Snowflake (a fakesnow server, only the COPY INTO swapped: tests/test_warehouse_snowflake.py), through
the real jobs in process: bad input in a day fails it, naming file, line and field, and changes nothing.
(That Snowflake holds DuckDB's tables is tests/sparkify/test_four_warehouses.py.)
"""

from pipeline.defs.sparkify.layout import event_key
from tests.platform import definitions, run
from tests.sparkify.test_pipeline_postgres import COLUMNS, DAYS, _order


def snowflake_tables(warehouse) -> dict[str, list[tuple]]:
    return {t: warehouse.query(f"select * from {t} order by {_order(t)}") for t in COLUMNS}


def test_bad_input_fails_its_day_on_snowflake_and_changes_nothing(snowflake_env, sample_lake, s3_env):
    defs = definitions()
    songs = run("sparkify_songs", defs=defs)
    assert songs.ok, songs.errors
    daily = run("sparkify_daily", (DAYS[0].isoformat(), DAYS[-1].isoformat()), defs=defs)
    assert daily.ok, daily.errors
    in_snowflake = snowflake_tables(snowflake_env)

    # A bad value, then a malformed line, in day 2: the day fails naming file, line and field; nothing changes.
    day = DAYS[1]
    key, lines = f"lake/{event_key(day)}", (sample_lake.root / event_key(day)).read_text().split("\n")
    uri = f"s3://sparkify-sf/{key}"
    bad_value = lines[:6] + [lines[6].replace('"sessionId":', '"sessionId":"x","was":', 1)] + lines[7:]
    malformed = lines[:3] + [lines[3][:-3]] + lines[4:]
    for damaged, problem in (
        (bad_value, f"{uri}, line 7, field 'sessionId': expected an integer, found \"x\""),
        (malformed, f"{uri}, line 4: malformed JSON"),
    ):
        s3_env.put_object(Bucket="sparkify-sf", Key=key, Body="\n".join(damaged).encode())
        failed = run("sparkify_daily", (day.isoformat(), day.isoformat()), defs=defs)
        assert not failed.success
        assert any(f"staging.staging_events not loaded, nothing changed: {problem}" in e for e in failed.errors), (
            failed.errors
        )
        assert snowflake_tables(snowflake_env) == in_snowflake
    s3_env.put_object(Bucket="sparkify-sf", Key=key, Body="\n".join(lines).encode())

    assert all(in_snowflake[t] for t in COLUMNS)
