"""`python -m pipeline`: the command line of the platform (prepare, generate, materialize, demo, and
fail-orphaned-runs for a production code server's start)."""

import argparse
import datetime as dt
import sys


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("prepare", help="write dbt_project/target/manifest.json (dbt parse), needed before loading definitions")
    materialize = commands.add_parser(
        "materialize", help="materialize every Sparkify asset for a range of days, recorded in DAGSTER_HOME"
    )
    materialize.add_argument("--start", type=_date, help="first day (default: the first day in the raw data)")
    materialize.add_argument("--end", type=_date, help="last day, inclusive (default: the last day in the raw data)")
    commands.add_parser("ui", help="dagster dev on 127.0.0.1:3000 over the same DAGSTER_HOME the commands write to")
    commands.add_parser("demo", help="generate a sample lake under .local/, materialize it all and print a summary")
    commands.add_parser("generate", help="write a sample Sparkify lake (see: python -m pipeline generate --help)", add_help=False)
    orphans = commands.add_parser(
        "fail-orphaned-runs",
        help="before a code server starts: fail the runs its predecessor's killed workers left STARTED",
    )
    orphans.add_argument("--location", default="sparkify", help="the code location's name (default: sparkify)")

    args, rest = parser.parse_known_args(argv)
    if args.command == "generate":
        from pipeline.sparkify.sample_data import main as generate

        return generate(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.command == "prepare":
        from pipeline.dbt_manifest import prepare_manifest
        from pipeline.settings import export_defaults

        export_defaults()
        prepare_manifest(force=True)
        return 0
    if args.command == "ui":
        return _dagster_dev()
    if args.command == "fail-orphaned-runs":
        from pipeline.orphaned_runs import main as fail_orphaned_runs

        return fail_orphaned_runs(args.location)
    from pipeline import materialize as run

    if args.command == "materialize":
        return run.materialize_command(args.start, args.end)
    return run.demo_command()


def _dagster_dev() -> int:
    import os
    from pathlib import Path

    from pipeline.materialize import ensure_dagster_home
    from pipeline.settings import REPO_ROOT, export_defaults

    export_defaults()
    ensure_dagster_home()
    dagster = Path(sys.executable).with_name("dagster")
    command = [str(dagster), "dev", "-w", str(REPO_ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", "3000"]
    os.chdir(REPO_ROOT)
    os.execv(command[0], command)


if __name__ == "__main__":
    sys.exit(main())
