"""dbt's target directory stays bounded: a successful build removes the folder dagster-dbt made for its invocation
(pipeline/lib/dbt/build.py), a failed one keeps it for debugging, and the project's parse state survives both."""

import datetime as dt

from pipeline.defs.sparkify.layout import event_key
from pipeline.lib.dbt.manifest import is_invocation_folder
from tests.sparkify.runs import materialize_days, materialize_songs

DAYS = [dt.date(2018, 11, 1), dt.date(2018, 11, 2), dt.date(2018, 11, 3)]


def invocation_folders(target) -> list[str]:
    return sorted(p.name for p in target.iterdir() if is_invocation_folder(p))


def test_successful_runs_leave_no_dbt_invocation_folders(pipeline_env, monkeypatch, tmp_path):
    target = tmp_path / "dbt_target"
    monkeypatch.setenv("DBT_TARGET_PATH", str(target))  # not the repository's dbt_project/target

    outcomes = [materialize_songs(), *(materialize_days([day]) for day in DAYS)]

    assert all(outcome.ok for outcome in outcomes), [outcome.errors for outcome in outcomes]
    assert invocation_folders(target) == []
    # The parse state each invocation left is still the project's, for the next one (manifest.py).
    assert (target / "partial_parse.msgpack").exists()


def test_a_failed_build_keeps_its_folder_for_debugging(copied_lake, monkeypatch, tmp_path):
    target = tmp_path / "dbt_target"
    monkeypatch.setenv("DBT_TARGET_PATH", str(target))
    assert materialize_songs().ok and materialize_days([DAYS[0]]).ok
    path = copied_lake / event_key(DAYS[1])
    path.write_text(path.read_text(encoding="utf-8").replace('"level":"free"', '"level":"gold"'), encoding="utf-8")

    outcome = materialize_days([DAYS[1]])

    assert not outcome.ok
    [folder] = invocation_folders(target)  # only the failed run's; the maintenance job prunes it later
    assert f"-{outcome.run_id[:7]}-" in folder
    assert (target / folder / "compiled").is_dir()
