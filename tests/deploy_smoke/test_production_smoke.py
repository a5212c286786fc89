"""The production deployment, smoke-tested end to end on one machine: a code server, a webserver and a
daemon (tests/deploy_smoke/production.py) over a Postgres instance with compute logs in S3 (moto), the
instance config being deploy/dagster.yaml itself.

Everything goes through the webserver's GraphQL API exactly as the UI's buttons do: `sparkify_songs`
("Materialize all"), one day of `sparkify_daily` ("Materialize all", one partition), then a backfill of the
two other days that the daemon runs. Then a real browser (Debian's chromium, tests/install_browser.sh) draws
the asset graph; its screenshot goes to pytest's tmp_path (the README's pictures are the demo's:
tests/test_ui_after_demo.py). Sensors start stopped (DAGSTER_DEPLOYMENT=local), and
the test checks they are, so every run in the instance is one the test launched.
"""

import datetime as dt
import json
import time
from pathlib import Path

import duckdb
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

from tests.deploy_smoke.production import (
    ComputeLogBucket,
    DeploymentError,
    PostgresTarget,
    ProductionDeployment,
    tags_of,
)

JOB = "sparkify_daily"
SONGS_JOB = "sparkify_songs"
DAY = "2018-11-02"
BACKFILL_DAYS = ["2018-11-01", "2018-11-03"]
ALL_DAYS = sorted([DAY, *BACKFILL_DAYS])
RUN_TIMEOUT_S = 150
BACKFILL_TIMEOUT_S = 200
DATABASE = "dagster_deploy_smoke"
BUCKET = "sparkify-dagster-compute-logs"
PREFIX = "compute-logs/smoke"
PARTITION_TAG = "dagster/partition"
RANGE_START_TAG, RANGE_END_TAG = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
GRAPH_PATH = "/locations/data_platform/asset-groups/sparkify"  # the group's lineage page (WorkspaceRoot.tsx)
ASSET_NAMES = [
    "log_data",
    "song_data",
    "staging_events",
    "staging_songs",
    "users",
    "songs",
    "artists",
    "songplays",
    "time",
]

TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="module")
def compute_logs(s3_endpoint) -> ComputeLogBucket:
    return ComputeLogBucket(
        bucket=BUCKET,
        prefix=PREFIX,
        endpoint_url=s3_endpoint,
        access_key_id="testing",
        secret_access_key="testing",
    )


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, sample_lake, extension_dir, postgres_server, compute_logs):
    """The three processes over one instance for the module; stopped, and checked stopped, at the end."""
    base = tmp_path_factory.mktemp("deploy_smoke")
    postgres_server.create_database(DATABASE)
    pipeline_env = {
        "SPARKIFY_DATA_URI": str(sample_lake.root),
        "WAREHOUSE": "duckdb",
        "DUCKDB_PATH": str(base / "warehouse.duckdb"),
        "DUCKDB_EXTENSION_DIR": str(extension_dir),
    }
    prod = ProductionDeployment(
        base / "deployment",
        postgres=PostgresTarget(
            host=postgres_server.host,
            port=postgres_server.port,
            user=postgres_server.user,
            password=postgres_server.password,
            database=DATABASE,
        ),
        compute_logs=compute_logs,
        pipeline_env=pipeline_env,
        deployment="local",  # sensors start stopped: only the test's runs happen
        max_concurrent_runs=1,  # DuckDB: one writer per file
    )
    started = time.monotonic()
    prod.start()
    TIMINGS.update({f"startup: {k}": v for k, v in prod.timings.items()})
    try:
        yield prod
    finally:
        stopping = time.monotonic()
        codes = prod.stop()
        TIMINGS["stop"] = time.monotonic() - stopping
        TIMINGS["module (deployment up)"] = time.monotonic() - started
        print("\n".join(f"timing {name}: {seconds:.1f}s" for name, seconds in TIMINGS.items()))
        print(f"exit codes: {codes}; instance config: {prod.instance_config_source or 'harness default'}")
        left = prod.left_running()
        assert not prod.listening_ports(), f"still listening after stop(): {prod.listening_ports()}"
        assert not left, f"processes left after stop(): {left}"
        killed = [name for name, s in prod.services.items() if s.killed]
        assert not killed, f"needed SIGKILL: {killed}\n{prod.log_tails()}"
        assert all(code == 0 for code in codes.values()), f"exit codes {codes}\n{prod.log_tails()}"


@pytest.fixture(scope="module")
def songs_run(deployment) -> dict:
    """The song catalogue (sparkify_songs) launched through the API, finished: the daily runs join to it."""
    statuses = deployment.api.instigator_statuses()
    assert statuses and not [n for n, s in statuses.items() if s == "RUNNING"], statuses
    assert deployment.api.runs() == [], "the instance had runs before the test launched any"

    launched = time.monotonic()
    run_id = deployment.api.launch_run(SONGS_JOB)
    run = deployment.api.wait_for_run(run_id, RUN_TIMEOUT_S)
    TIMINGS["songs run (launch to SUCCESS)"] = time.monotonic() - launched
    assert run["status"] == "SUCCESS", f"{deployment.api.failure_report(run_id)}\n{deployment.log_tails()}"
    return run


@pytest.fixture(scope="module")
def one_day_run(deployment, songs_run) -> dict:
    """One day of sparkify_daily launched through the API, finished."""
    launched = time.monotonic()
    run_id = deployment.api.launch_partition_run(JOB, DAY)
    run = deployment.api.wait_for_run(run_id, RUN_TIMEOUT_S)
    TIMINGS["one-day run (launch to SUCCESS)"] = time.monotonic() - launched
    assert run["status"] == "SUCCESS", f"{deployment.api.failure_report(run_id)}\n{deployment.log_tails()}"
    return run


def test_one_day_runs_and_is_recorded_in_postgres_and_s3(deployment, one_day_run, postgres_server, compute_logs):
    run_id = one_day_run["id"]
    assert one_day_run["jobName"] == JOB
    assert tags_of(one_day_run)[PARTITION_TAG] == DAY

    # Runs and events are in the Postgres instance, not in SQLite files in DAGSTER_HOME.
    with postgres_server.connect(DATABASE) as connection, connection.cursor() as cursor:
        cursor.execute("select status, partition from runs where run_id = %s", (run_id,))
        assert cursor.fetchall() == [("SUCCESS", DAY)]
        cursor.execute(
            "select asset_key, partition from event_logs"
            " where run_id = %s and dagster_event_type = 'ASSET_MATERIALIZATION'",
            (run_id,),
        )
        materialized = {(tuple(json.loads(key)), partition) for key, partition in cursor.fetchall()}
    connection.close()
    daily = [
        ("raw", "log_data"),
        ("staging", "staging_events"),
        ("analytics", "songplays"),
        ("analytics", "time"),
        ("analytics", "users"),
    ]
    assert materialized == {(asset, DAY) for asset in daily}, sorted(materialized)
    assert not list(deployment.dagster_home.rglob("*.db")), list(deployment.dagster_home.rglob("*"))

    # The step output went to the bucket under the prefix ...
    listing = compute_logs.client().list_objects_v2(Bucket=BUCKET, Prefix=f"{PREFIX}/")
    keys = [item["Key"] for item in listing.get("Contents", [])]
    run_keys = [key for key in keys if run_id in key]
    assert [key for key in run_keys if key.endswith((".out", ".err", ".complete"))], keys
    assert all(key.startswith(f"{PREFIX}/storage/{run_id}/compute_logs/") for key in run_keys), run_keys

    # ... and the webserver, which stages logs in a folder of its own, serves them from there.
    captured = [e for e in one_day_run["eventConnection"]["events"] if e["__typename"] == "LogsCapturedEvent"]
    assert captured, one_day_run["eventConnection"]["events"]
    served = deployment.api.captured_logs(run_id, captured[0]["fileKey"])
    text = (served["capturedLogs"]["stdout"] or "") + (served["capturedLogs"]["stderr"] or "")
    assert "staging_events" in text, served
    err_key = f"{PREFIX}/storage/{run_id}/compute_logs/{captured[0]['fileKey']}.err"
    on_s3 = compute_logs.client().get_object(Bucket=BUCKET, Key=err_key)["Body"].read().decode(errors="replace")
    assert on_s3 and on_s3 in text


def test_backfill_of_the_other_days_runs_through_the_daemon(deployment, songs_run, one_day_run, sample_lake):
    launched = time.monotonic()
    backfill_id = deployment.api.launch_partition_backfill(JOB, BACKFILL_DAYS)
    backfill = deployment.api.wait_for_backfill(backfill_id, BACKFILL_TIMEOUT_S)
    TIMINGS["backfill of 2 days (launch to COMPLETED)"] = time.monotonic() - launched

    runs = backfill["runs"]
    reports = "\n".join(deployment.api.failure_report(r["id"]) for r in runs)
    assert backfill["status"] in ("COMPLETED", "COMPLETED_SUCCESS"), f"{backfill['status']}\n{reports}"
    assert sorted(backfill["partitionNames"]) == BACKFILL_DAYS
    assert runs and all(r["status"] == "SUCCESS" for r in runs), reports

    # The daemon made the runs (BackfillPolicy.single_run() groups contiguous days: here one run per day).
    covered = set()
    for run in runs:
        tags = tags_of(run)
        assert tags["dagster/backfill"] == backfill_id
        start = tags.get(RANGE_START_TAG, tags.get(PARTITION_TAG))
        end = tags.get(RANGE_END_TAG, tags.get(PARTITION_TAG))
        day = dt.date.fromisoformat(start)
        while day <= dt.date.fromisoformat(end):
            covered.add(day.isoformat())
            day += dt.timedelta(days=1)
    assert covered == set(BACKFILL_DAYS), covered

    # Every run in the instance is one the test launched: nothing else (no sensor, no schedule) ran.
    all_runs = deployment.api.runs()
    assert sorted(r["id"] for r in all_runs) == sorted(
        [songs_run["id"], one_day_run["id"], *(r["id"] for r in runs)]
    ), all_runs

    with duckdb.connect(deployment.pipeline_env["DUCKDB_PATH"], read_only=True) as connection:
        days = connection.execute(
            "select distinct cast(start_time as date)::varchar from analytics.songplays order by 1"
        ).fetchall()
        staged = connection.execute("select count(*) from staging.staging_events").fetchone()[0]
    assert [d for (d,) in days] == ALL_DAYS
    assert staged == sample_lake.events


def test_ui_draws_the_asset_graph(deployment, tmp_path):
    screenshot = tmp_path / "ui-asset-graph.png"
    if not CHROMIUM.exists():
        raise DeploymentError(f"{CHROMIUM} is missing: run tests/install_browser.sh (Debian's chromium)")
    started = time.monotonic()
    with sync_playwright() as playwright:
        # Playwright gives each launch a new, empty profile directory (its own --user-data-dir).
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            # On localhost the UI opens a "Join the Dagster community" dialog over the graph unless the
            # instance sets `nux: enabled: false`; this browser has dismissed it before (its Skip button
            # stores exactly this), so the screenshot shows the graph.
            page.add_init_script("window.localStorage.setItem('communityNux', JSON.stringify('1'))")
            page.goto(deployment.url + GRAPH_PATH, wait_until="domcontentloaded", timeout=60_000)
            for name in ASSET_NAMES:
                page.get_by_text(name, exact=True).first.wait_for(state="visible", timeout=60_000)
            # The nodes then fill in their status from the instance (the earlier tests' runs, if any).
            try:
                page.get_by_text("Materialized", exact=True).first.wait_for(state="visible", timeout=20_000)
            except PlaywrightTimeout:
                pass
            page.wait_for_timeout(1500)
            visible = {name: page.get_by_text(name, exact=True).first.is_visible() for name in ASSET_NAMES}
            dialogs = page.locator('[role="dialog"]:visible').count()  # nothing covers the graph
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot))
        finally:
            browser.close()
    TIMINGS["UI: browser to screenshot"] = time.monotonic() - started
    assert all(visible.values()), visible
    assert dialogs == 0, f"a dialog covers the graph: see {screenshot}"
    assert screenshot.stat().st_size > 20_000
