"""YAML SQL checks: the file format, its errors, and comparing results the way warehouses return them."""

import decimal

import dagster as dg
import pytest

from pipeline.defs.sparkify.quality_checks import QUALITY_CHECKS_FILE
from pipeline.lib.sql_checks import SqlCheckFileError, load_sql_checks, result_matches

ASSETS = {dg.AssetKey(["analytics", "songplays"]), dg.AssetKey(["analytics", "users"])}
GOOD = """
- name: has_rows
  asset: analytics/songplays
  sql: select count(*) > 0 from analytics.songplays
  expected: true
- name: no_null_users
  asset: analytics/users
  sql: select count(*) from analytics.users where user_id is null
  expected: 0
  blocking: false
"""


def test_a_good_file_loads(tmp_path):
    path = tmp_path / "checks.yaml"
    path.write_text(GOOD)
    first, second = load_sql_checks(path, ASSETS)
    assert (first.name, first.asset, first.expected, first.blocking) == (
        "has_rows",
        dg.AssetKey(["analytics", "songplays"]),
        True,
        True,
    )
    assert (second.expected, second.blocking) == (0, False)


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "- name: x\n  asset: analytics/songplay\n  sql: select 1\n  expected: 1\n",
            "line 1, field 'asset': unknown asset 'analytics/songplay'",
        ),
        ("- name: x\n  asset: analytics/users\n  expected: 1\n", "line 1, field 'sql': missing"),
        (
            "- name: ok\n  asset: analytics/users\n  sql: select 1\n  expected: 1\n"
            "- name: bad name\n  asset: analytics/users\n  sql: select 1\n  expected: 1\n",
            "line 5, field 'name'",
        ),
        (
            "- name: x\n  asset: analytics/users\n  sql: select 1\n  expected: [1]\n",
            "field 'expected': must be a single value",
        ),
        (
            "- name: x\n  asset: analytics/users\n  sql: select 1\n  expected: 1\n  severity: warn\n",
            "field 'severity': unknown field",
        ),
        (
            "- name: x\n  asset: analytics/users\n  sql: select 1\n  expected: 1\n"
            "- name: x\n  asset: analytics/users\n  sql: select 2\n  expected: 2\n",
            "line 5, field 'name': 'x' is used twice",
        ),
        ("name: x\n", "line 1: expected a list of checks"),
        ("- [unclosed\n", "not valid YAML"),
    ],
)
def test_mistakes_name_the_file_line_and_field(tmp_path, text, message):
    path = tmp_path / "checks.yaml"
    path.write_text(text)
    with pytest.raises(SqlCheckFileError) as error:
        load_sql_checks(path, ASSETS)
    assert str(error.value).startswith(str(path)) and message in str(error.value)


@pytest.mark.parametrize(
    "actual, expected, matches",
    [
        (True, True, True),
        (1, True, True),
        (False, True, False),
        (0, False, True),
        ("true", True, False),
        (decimal.Decimal("0"), 0, True),
        (3, 3.0, True),
        (2.5, 2.5, True),
        (3, 4, False),
        ("paid", "paid", True),
        (None, None, True),
        (None, 0, False),
        (0, None, False),
    ],
)
def test_results_compare_as_values(actual, expected, matches):
    assert result_matches(actual, expected) is matches


def test_the_shipped_sparkify_checks_load():
    from pipeline.definitions import defs

    keys = set(defs.resolve_asset_graph().get_all_asset_keys())
    checks = {c.name: c for c in load_sql_checks(QUALITY_CHECKS_FILE, keys, {"staging": "stg", "analytics": "mart"})}
    assert {"songplays_has_rows", "every_staged_play_is_a_songplay"} <= set(checks)
    assert checks["songplays_has_rows"].sql == "select count(*) > 0 from mart.songplays"
    with pytest.raises(SqlCheckFileError, match="unknown placeholder"):
        load_sql_checks(QUALITY_CHECKS_FILE, keys, {"staging": "stg"})


def test_a_check_runs_its_sql_on_the_warehouse_and_fails_on_a_different_result(tmp_path):
    import duckdb

    from pipeline.lib.sql_checks import SqlCheck, build_asset_check
    from pipeline.lib.warehouse import DuckDBWarehouse

    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as connection:
        connection.execute(
            "create schema analytics; create table analytics.users as select 1 as user_id union all select null"
        )

    @dg.asset(key=["analytics", "users"])
    def users() -> None:
        return None

    checks = [
        build_asset_check(
            SqlCheck("one_null", users.key, "select count(*) from analytics.users where user_id is null", 1)
        ),
        build_asset_check(
            SqlCheck(
                "no_nulls", users.key, "select count(*) from analytics.users where user_id is null", 0, blocking=False
            )
        ),
    ]
    result = dg.materialize(
        [users, *checks],
        raise_on_error=False,
        resources={"warehouse": DuckDBWarehouse(path=str(db), extension_dir=str(tmp_path / "ext"))},
    )
    outcomes = {e.check_name: (e.passed, e.metadata["actual"].value) for e in result.get_asset_check_evaluations()}
    assert outcomes == {"one_null": (True, "1"), "no_nulls": (False, "1")}
