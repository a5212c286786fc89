"""`python -m pipeline`: the platform's command line (prepare, materialize, ui, demo, generate, check-tasks,
task-images, and fail-orphaned-runs for a production code server's start)."""

import argparse
import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "prepare", help="write dbt_project/target/manifest.json (dbt parse), needed before loading definitions"
    )
    materialize = commands.add_parser(
        "materialize",
        help="materialize a pipeline's assets (every pipeline's without --group), recorded in DAGSTER_HOME",
    )
    materialize.add_argument("--group", help="the pipeline's asset group (its folder under pipeline/defs/)")
    materialize.add_argument(
        "--start", help="first partition key, e.g. a day YYYY-MM-DD (default: the first with data)"
    )
    materialize.add_argument("--end", help="last partition key, inclusive (default: the last with data)")
    commands.add_parser("ui", help="dagster dev on 127.0.0.1:3000 over the same DAGSTER_HOME the commands write to")
    commands.add_parser("demo", help="generate a sample lake under .local/, materialize it all and print a summary")
    commands.add_parser(
        "generate", help="write a sample Sparkify lake (see: python -m pipeline generate --help)", add_help=False
    )
    commands.add_parser(
        "check-tasks", help="review every container task under pipeline/defs/tasks/: its YAML and its IAM policy"
    )
    images = commands.add_parser(
        "task-images",
        help="build the image of every task built from its Dockerfile, tagged TASKS_IMAGE_REPOSITORY:<name>",
    )
    images.add_argument("--push", action="store_true", help="push each image after building it")
    images.add_argument("--dry-run", action="store_true", help="print the docker commands, run none")
    orphans = commands.add_parser(
        "fail-orphaned-runs",
        help="before a code server starts: fail the runs its predecessor's killed workers left STARTED",
    )
    orphans.add_argument(
        "--location", default="data_platform", help="the code location's name (default: data_platform)"
    )

    args, rest = parser.parse_known_args(argv)
    from pipeline.lib.sandbox import enter_sandbox

    if args.command != "prepare":  # dbt's manifest is the project's, shared by every sandbox
        enter_sandbox(sys.argv[1:] if argv is None else argv)  # SANDBOX=<name>: the command runs again, in it
    if args.command == "generate":
        from pipeline.defs.sparkify.sample_data import main as generate

        return generate(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.command == "prepare":
        from pipeline.lib.dbt.manifest import prepare_manifest
        from pipeline.lib.settings import export_defaults

        export_defaults()
        prepare_manifest(force=True)
        return 0
    if args.command == "ui":
        return _dagster_dev()
    if args.command == "check-tasks":
        from pipeline.lib.tasks.review import check_tasks_command

        return check_tasks_command(Path(__file__).parent / "defs" / "tasks")
    if args.command == "task-images":
        from pipeline.lib.tasks.images import task_images_command

        return task_images_command(Path(__file__).parent / "defs" / "tasks", args.push, args.dry_run)
    if args.command == "fail-orphaned-runs":
        from pipeline.lib.orphaned_runs import main as fail_orphaned_runs

        return fail_orphaned_runs(args.location)

    from pipeline.lib.materialize import UsageError, materialize_command

    try:
        if args.command == "materialize":
            return materialize_command(args.group, args.start, args.end)
        return _demo()
    except UsageError as error:
        parser.exit(2, f"{parser.prog} {args.command}: error: {error}\n")


def _demo(lake_dir: Path | None = None) -> int:
    """`make demo`: a sample lake and a local weather API, every pipeline materialized, freshness checks, a summary.

    Its days end yesterday and are the daily partitions (SPARKIFY_FIRST_DAY is their first), recorded in
    DAGSTER_HOME for `python -m pipeline ui`, so the UI shows what the summary says: every day filled,
    every check passed.
    """
    from pipeline.defs.nyc_taxi.sample_data import prepare_demo_months
    from pipeline.defs.sparkify.sample_data import DEMO_LAKE_DIR, demo_environment, prepare_demo_lake
    from pipeline.defs.weather.demo_api import DemoApi
    from pipeline.lib.instance import ensure_dagster_home, record_demo_environment
    from pipeline.lib.materialize import all_ok, load_definitions, materialize_groups, print_summary
    from pipeline.lib.settings import export_defaults

    lake = prepare_demo_lake(lake_dir or DEMO_LAKE_DIR)  # first: the definitions read its first day
    export_defaults()
    nyc_taxi = prepare_demo_months(lake.root.parent / "nyc_taxi")  # beside the lake: .local/nyc_taxi
    _fresh_demo_warehouse()
    ensure_dagster_home()
    settings_file = record_demo_environment({**demo_environment(lake), **nyc_taxi})
    # The weather pipeline's APIs, served locally for the demo's length (no key, no internet).
    api = DemoApi().start()
    try:
        os.environ.update(api.urls())
        defs = load_definitions()  # after: the weather pipeline's resource reads the API addresses
        groups, runs = materialize_groups(defs, None)
    finally:
        api.stop()
    runs.append(_evaluate_freshness_checks(defs))
    print_summary(runs, groups, defs)
    ui = f"make ui SANDBOX={os.environ['SANDBOX']}" if os.environ.get("SANDBOX") else "make ui"
    print(
        "\nOpen the UI to see these runs, their logs, the asset graph and the checks:\n"
        f"  {ui:<14} (dagster dev on http://127.0.0.1:3000, DAGSTER_HOME={os.environ['DAGSTER_HOME']},\n"
        f"                  with the demo's settings from {settings_file})"
    )
    return 0 if all_ok(runs) else 1


def _fresh_demo_warehouse() -> None:
    """Start the local default DuckDB file afresh: the demo's days move with the date, and an earlier
    demo's days left in it would swell its tables beyond the lake. A warehouse you configured is kept."""
    from pipeline.lib.settings import DEFAULTS, env

    default = Path(DEFAULTS["DUCKDB_PATH"])
    if env("WAREHOUSE").lower() != "duckdb" or Path(env("DUCKDB_PATH")).resolve() != default.resolve():
        return
    removed = [path for path in (default, default.with_name(default.name + ".wal")) if path.exists()]
    for path in removed:
        path.unlink()
    if removed:
        print(f"Warehouse: a fresh {default} (an earlier demo's days went with the old one)")


def _evaluate_freshness_checks(defs):
    """Sparkify's freshness checks in a run of their own, as their sensor (stopped on a laptop) would run them.

    Not the weather pipeline's: the demo loads only the hour that just ended, and before half past the hour
    its check expects the hour before, which a fresh demo never fetched and the APIs no longer serve."""
    import dagster as dg

    from pipeline.lib.freshness import freshness_checks_job
    from pipeline.lib.materialize import run_job

    job = freshness_checks_job(defs, ["sparkify"], "sparkify_freshness_checks")
    print(f"Evaluating the freshness checks ({job.name}), as sparkify_freshness_checks_sensor does on the clock")
    return job.name, run_job(job.name, defs=dg.Definitions.merge(defs, dg.Definitions(jobs=[job])))


def _dagster_dev() -> int:
    """`make ui`: dagster dev over DAGSTER_HOME, with the demo's recorded settings for those you have not set."""
    from pipeline.lib.instance import demo_env_path, ensure_dagster_home, export_demo_environment
    from pipeline.lib.settings import REPO_ROOT, export_defaults

    applied, replaced = export_demo_environment()  # before the defaults: the demo's values win over them
    export_defaults()
    recorded = demo_env_path(os.environ["DAGSTER_HOME"])
    if applied:
        print(f"ui: the demo's settings from {recorded}: " + ", ".join(f"{k}={v}" for k, v in applied.items()))
    for name, value in replaced.items():
        print(f"ui: your {name}={os.environ[name]}, not the demo's {value} ({recorded})")
    ensure_dagster_home()
    dagster = Path(sys.executable).with_name("dagster")
    command = [str(dagster), "dev", "-w", str(REPO_ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", "3000"]
    os.chdir(REPO_ROOT)
    os.execv(command[0], command)


if __name__ == "__main__":
    sys.exit(main())
