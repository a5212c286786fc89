"""After `make demo`, the UI tells the story the demo's summary told: every daily partition materialized,
the reconciliation check passed for each day, the freshness checks passed, nothing left grey or unevaluated.

The demo's flow (`_demo` of pipeline/__main__.py) runs in a process of its own into a temporary instance,
warehouse and lake; `make ui` (`python -m pipeline ui`: `dg dev` with the settings the demo recorded) then serves
that instance, and headless Chromium (Debian's) reads what a person sees, in a new profile as a newcomer's.
The README's sample of the demo's output is compared with what this demo printed: the same runs, tables, checks.
"""

import datetime as dt
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
import requests
from playwright.sync_api import expect, sync_playwright

from pipeline.defs.sparkify.staging_tables import staging_tables
from pipeline.lib.dbt.fork_server import SOCKET_VARIABLE
from pipeline.lib.instance import with_demo_environment
from pipeline.lib.warehouse.types import WAREHOUSE_TYPES
from tests.ports import free_port

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
DEMO = "import sys; from pathlib import Path; from pipeline.__main__ import _demo; sys.exit(_demo(Path(sys.argv[1])))"
DAILY = {"raw/log_data", "staging/staging_events", "analytics/users", "analytics/songplays", "analytics/time"}
DEMO_DAYS = 7
GRAPH_PATH = "/locations/data_platform/asset-groups/sparkify"
CHECK_PATH = "/assets/staging/staging_events?view=checks&checkDetail=staging_events_match_raw_files"
STARTUP_TIMEOUT_S = 180
UI_LOG: dict[str, Path] = {}  # the `make ui` output of each UI the module serves, by its address
README = REPO / "README.md"
# `make ui-screenshot` sets it to docs/: the README's pictures are this demo's graph and asset page.
SCREENSHOT_DIR_VARIABLE = "UI_SCREENSHOT_DIR"
EVENTS_PATH = "/assets/staging/staging_events"
# The README's sample of the demo's output: the fenced block after this comment.
README_DEMO_MARKER = "<!-- demo-output:"

ASSETS_QUERY = """
{ assetNodes(group: {
    groupName: "sparkify", repositoryName: "__repository__", repositoryLocationName: "data_platform"
  }) {
    assetKey { path }
    partitionStats { numMaterialized numPartitions numFailed numMaterializing }
    assetChecksOrError { ... on AssetChecks { checks {
        name
        executionForLatestMaterialization { status }
        partitionStatuses { ... on AssetCheckTimePartitionStatuses { ranges { startKey endKey status } } }
    } } }
} }
"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory, extension_dir) -> dict:
    """The demo run as `make demo` runs it, with nothing of Sparkify's or the taxi pipeline's set (it chooses their
    lakes and Sparkify's first day)."""
    base = tmp_path_factory.mktemp("ui_after_demo")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPARKIFY_", "NYC_TAXI_")) and k != SOCKET_VARIABLE}
    env.update(
        WAREHOUSE="duckdb",
        DAGSTER_HOME=str(base / "dagster_home"),
        DUCKDB_PATH=str(base / "warehouse.duckdb"),
        DUCKDB_EXTENSION_DIR=str(extension_dir),
    )
    before = dt.datetime.now(dt.UTC).date()
    done = subprocess.run(
        [sys.executable, "-c", DEMO, str(base)], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )
    after = dt.datetime.now(dt.UTC).date()
    print(f"--- the demo's output ---\n{done.stdout}{done.stderr}--- end ---")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return {"env": env, "stdout": done.stdout, "stderr": done.stderr, "lake": base / "lake", "today": {before, after}}


def test_the_demo_says_everything_passed_and_warns_of_nothing(demo):
    assert re.search(r"^Asset checks: \d+ passed, 0 failed$", demo["stdout"], re.MULTILINE), demo["stdout"]
    assert "(sparkify_freshness_checks): succeeded" in demo["stdout"]
    assert "(nyc_taxi_monthly over 2020-01-01 .. 2020-03-01, 3 months): succeeded" in demo["stdout"]
    assert "(tasks_unpartitioned): succeeded" in demo["stdout"]  # the two example container tasks
    assert "warning" not in (demo["stdout"] + demo["stderr"]).lower()


def test_the_demo_lake_ends_yesterday_and_its_days_are_the_partitions(demo):
    days = sorted(dt.date.fromisoformat(p.name[:10]) for p in (demo["lake"] / "log_data").rglob("*-events.json"))
    assert len(days) == DEMO_DAYS and days[-1] - days[0] == dt.timedelta(days=DEMO_DAYS - 1)
    assert days[-1] in {today - dt.timedelta(days=1) for today in demo["today"]}
    env = dict(demo["env"])
    # what `python -m pipeline ui` puts in dagster dev's environment
    _, applied, replaced = with_demo_environment(env, env["DAGSTER_HOME"])
    # The hour the weather demo fetched (the one that just ended) is its first partition.
    first_hour = dt.datetime.strptime(applied.pop("WEATHER_FIRST_HOUR"), "%Y-%m-%d-%H:%M").date()
    assert first_hour in {today - dt.timedelta(days=n) for today in demo["today"] for n in (0, 1)}
    assert applied == {
        "SPARKIFY_DATA_URI": str(demo["lake"]),
        "SPARKIFY_FIRST_DAY": days[0].isoformat(),
        "NYC_TAXI_DATA_URI": str(demo["lake"].parent / "nyc_taxi"),
        "NYC_TAXI_LAST_MONTH": "2020-03-01",  # the demo's third month: the UI shows 3 months, every one filled
    }
    assert replaced == {}


def _readme_demo_block() -> str:
    text = README.read_text()
    assert README_DEMO_MARKER in text, (
        f"README.md has lost its {README_DEMO_MARKER} …--> comment before the demo's output"
    )
    block = re.search(r"^```\n(.*?)^```$", text.split(README_DEMO_MARKER, 1)[1], re.DOTALL | re.MULTILINE)
    assert block, "no fenced block after the README's demo-output comment"
    return block[1]


def _shape(output: str) -> dict:
    """What the demo's output says, less what changes from one demo to the next: its run lines in order, with run
    ids, dates and hours, and durations normalised; the tables of "Rows per table", in order; the checks' line."""

    def normalised(line: str) -> str:
        line = re.sub(r"^Run \S+ ", "Run <id> ", line.strip())
        line = re.sub(r"\b\d{4}-\d{2}-\d{2}(?:-\d{2}:\d{2})?\b", "<date>", line)
        return re.sub(r"\b\d+(?:\.\d+)?\s?(?:ms|s|min)\b", "<duration>", line)

    lines = output.splitlines()
    runs = [normalised(line) for line in lines if line.startswith("Run ")]
    tables = []
    if "Rows per table:" in lines:
        for line in lines[lines.index("Rows per table:") + 1 :]:
            if not line.startswith("  "):
                break
            tables.append(line.split()[0])
    checks = [line for line in lines if line.startswith("Asset checks:")]
    return {"runs": runs, "tables": tables, "checks": checks}


def test_the_readme_shows_what_the_demo_prints(demo):
    """README.md's sample output has the demo's runs in its order, its tables and its count of checks (the dates,
    run ids and row counts are a past demo's): paste a fresh `make demo`'s output into it when this fails."""
    sample, printed = _shape(_readme_demo_block()), _shape(demo["stdout"])
    assert sample["runs"] and sample["tables"] and sample["checks"], sample
    assert sample == printed, {"README.md": sample, "the demo": printed}


def _graphql(url: str, query: str) -> dict:
    answer = requests.post(f"{url}/graphql", json={"query": query}, timeout=30).json()
    assert "errors" not in answer, answer["errors"]
    return answer["data"]


def _wait_until_serving(url: str, process: subprocess.Popen, log: Path) -> None:
    """Until the webserver answers with the code location's assets (it loads the definitions in a subprocess)."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while True:
        assert process.poll() is None, f"the UI exited ({process.returncode}):\n{log.read_text()[-4000:]}"
        try:
            if _graphql(url, ASSETS_QUERY)["assetNodes"]:
                return
        except (requests.ConnectionError, requests.Timeout, ValueError):
            pass
        assert time.monotonic() < deadline, f"no assets after {STARTUP_TIMEOUT_S} s:\n{log.read_text()[-4000:]}"
        time.sleep(1)


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM to the UI's process group (dg dev's webserver, daemon, code server, the warm dbt); SIGKILL after 30 s,
    as a failure."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        raise AssertionError("the UI ignored SIGTERM for 30 s and was killed") from None
    deadline = time.monotonic() + 30  # its code server may outlive it for a moment
    while True:
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return
        if time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGKILL)
            raise AssertionError("processes of the UI's group outlived it by 30 s and were killed")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def ui(demo, tmp_path_factory) -> str:
    """`make ui` over the demo's instance (`python -m pipeline ui`: `dg dev` with the settings the demo recorded), on
    a free port; its output in ui["log"]."""
    port = free_port()
    log = tmp_path_factory.mktemp("webserver") / "ui.log"
    with log.open("w") as out:
        command = ["env", "--default-signal=INT,TERM", sys.executable, "-m", "pipeline", "ui", "--port", str(port)]
        process = subprocess.Popen(
            command, cwd=REPO, env=demo["env"], stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_until_serving(url, process, log)
        UI_LOG[url] = log
        yield url
    finally:
        _stop(process)


def test_make_ui_runs_dg_dev_with_the_demos_settings_and_no_supersession_warning(ui):
    output = UI_LOG[ui].read_text()
    assert "ui: the demo's settings from" in output and "SPARKIFY_FIRST_DAY=" in output, output[-3000:]
    assert "Launching Dagster services" in output, output[-3000:]
    assert "SupersessionWarning" not in output and "dagster dev" not in output, output[-3000:]


def test_graphql_has_every_day_materialized_and_every_check_passed(ui):
    nodes = {"/".join(node["assetKey"]["path"]): node for node in _graphql(ui, ASSETS_QUERY)["assetNodes"]}
    for key in DAILY:
        assert nodes[key]["partitionStats"] == {
            "numMaterialized": DEMO_DAYS,
            "numPartitions": DEMO_DAYS,
            "numFailed": 0,
            "numMaterializing": 0,
        }, key
    checks = {
        f"{key}:{check['name']}": check
        for key, node in nodes.items()
        for check in node["assetChecksOrError"].get("checks", [])
    }
    not_passed = {
        name: c["executionForLatestMaterialization"]
        for name, c in checks.items()
        if (c["executionForLatestMaterialization"] or {}).get("status") != "SUCCEEDED"
    }
    assert not not_passed, not_passed  # a None here is the UI's "Not evaluated"
    assert {f"{key}:freshness_check" for key in DAILY} <= set(checks)
    ranges = checks["staging/staging_events:staging_events_match_raw_files"]["partitionStatuses"]["ranges"]
    assert [r["status"] for r in ranges] == ["SUCCEEDED"], ranges  # one range: every day passed
    first, last = ranges[0]["startKey"], ranges[0]["endKey"]
    assert dt.date.fromisoformat(last) - dt.date.fromisoformat(first) == dt.timedelta(days=DEMO_DAYS - 1)


def _browser(playwright):
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run tests/install_browser.sh (Debian's chromium)")
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)


def _screenshot(tmp_path: Path, name: str) -> Path:
    """Where a picture goes: the docs' own with UI_SCREENSHOT_DIR=docs (`make ui-screenshot`), else tmp_path."""
    folder = Path(os.environ.get(SCREENSHOT_DIR_VARIABLE) or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


def test_the_page_shows_every_day_filled_and_every_check_passed(ui, tmp_path):
    with sync_playwright() as playwright:
        browser = _browser(playwright)
        try:
            # A new browser profile, as a newcomer's: the instance's `nux: enabled: false` keeps Dagster's "join
            # the community" dialog from covering the page.
            page = browser.new_page(viewport={"width": 1600, "height": 1000})

            # The asset graph: each daily asset "100% filled" over its 7 partitions, each node's checks all passed.
            page.goto(ui + GRAPH_PATH, wait_until="domcontentloaded", timeout=60_000)
            filled = page.get_by_text("100% filled", exact=True)
            expect(filled).to_have_count(len(DAILY), timeout=60_000)
            expect(page.locator('[role="dialog"]:visible')).to_have_count(0)
            expect(page.get_by_text(f"{DEMO_DAYS} partitions", exact=True)).to_have_count(len(DAILY))
            passed = page.get_by_text(re.compile(r"^\d+ / \d+ Passed$"))
            # every asset with checks: the five daily ones, songs, artists and staging_songs (its column schema's)
            expect(passed).to_have_count(8)
            tallies = [re.match(r"(\d+) / (\d+)", text).groups() for text in passed.all_inner_texts()]
            page.wait_for_timeout(1000)  # the nodes' last statuses drawn
            page.screenshot(path=str(_screenshot(tmp_path, "ui-asset-graph.png")))
            assert all(done == total for done, total in tallies), tallies
            assert page.get_by_text("0% filled", exact=True).count() == 0
            for warning in ("Not evaluated", "Skipped", "Failed", "Missing"):
                assert page.get_by_text(warning).count() == 0, warning

            # The reconciliation check, day by day: all 7 passed, none missing or skipped.
            page.goto(ui + CHECK_PATH, wait_until="domcontentloaded", timeout=60_000)
            page.get_by_role("tab", name="Execution history").wait_for(timeout=60_000)  # the check's own tabs
            page.get_by_role("tab", name="Partitions").last.click()  # the check's, not the asset's
            expect(page.get_by_text(f"Passed ({DEMO_DAYS})", exact=True)).to_be_visible(timeout=60_000)
            for status in ("Missing", "Skipped", "Failed", "Execution Failed", "In Progress"):
                expect(page.get_by_text(f"{status} (0)", exact=True)).to_be_visible()
            # The asset's four checks as listed beside it, each with its status: the freshness check passed too, and
            # the volume-anomaly and column-schema checks (7 days: not enough history to judge, passed).
            expect(page.get_by_text("freshness_check", exact=True).first).to_be_visible()
            expect(page.get_by_text("no_volume_anomaly", exact=True).first).to_be_visible()
            expect(page.get_by_text("Succeeded", exact=True)).to_have_count(4)
            page.screenshot(path=str(tmp_path / "ui-after-demo-reconciliation.png"))
        finally:
            browser.close()
    print(f"screenshots in {tmp_path}")


def _days_in_table(demo) -> dict[str, int]:
    """staging.staging_events' rows per day of their event time (ts, epoch milliseconds, UTC), from the warehouse."""
    with duckdb.connect(demo["env"]["DUCKDB_PATH"], read_only=True) as connection:
        sql = "select strftime(epoch_ms(ts), '%Y-%m-%d'), count(*) from staging.staging_events group by 1"
        return dict(connection.execute(sql).fetchall())


def test_the_asset_page_shows_each_days_row_count_the_columns_and_the_checks(ui, demo, tmp_path):
    """staging/staging_events as a newcomer opens it after the demo: each day's recorded row count, equal to the
    day's rows in the table; its columns with the types DuckDB gives them; its row counts plotted by day; its
    checks, the volume-anomaly and column-schema ones among them."""
    days = _days_in_table(demo)
    assert len(days) == DEMO_DAYS
    events = staging_tables("staging").events
    with sync_playwright() as playwright:
        browser = _browser(playwright)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            for day, rows in sorted(days.items()):
                page.goto(f"{ui}{EVENTS_PATH}?view=partitions&partition={day}", wait_until="domcontentloaded")
                recorded = page.locator("tr", has=page.get_by_text("dagster/partition_row_count", exact=True))
                expect(recorded).to_have_count(1, timeout=60_000)
                assert re.sub(r"\s+", " ", recorded.inner_text()).strip() == f"dagster/partition_row_count {rows}", day

            page.goto(ui + EVENTS_PATH, wait_until="domcontentloaded")
            expect(page.get_by_text("Columns", exact=True)).to_be_visible(timeout=60_000)
            types = WAREHOUSE_TYPES["duckdb"]
            for column in events.columns:
                row = page.locator("tr", has=page.get_by_text(column.name, exact=True)).first
                expect(row).to_contain_text(types[column.type])
            page.get_by_text("Plots", exact=True).click()
            plot = page.get_by_text("dagster/partition_row_count", exact=True)
            expect(plot).to_be_visible(timeout=60_000)
            plot.scroll_into_view_if_needed()
            page.mouse.wheel(0, 250)
            page.wait_for_timeout(1000)  # the chart's animation
            expect(page.locator('[role="dialog"]:visible')).to_have_count(0)
            page.screenshot(path=str(_screenshot(tmp_path, "ui-asset-row-counts.png")))

            page.goto(f"{ui}{EVENTS_PATH}?view=checks", wait_until="domcontentloaded")
            expect(page.get_by_text("Checks (4)", exact=True)).to_be_visible(timeout=60_000)
            for check in ("no_volume_anomaly", "column_schema_change", "freshness_check"):
                expect(page.get_by_text(check, exact=True).first).to_be_visible()
        finally:
            browser.close()
