"""`python -m pipeline`: the platform's command line (prepare, materialize, ui, demo, generate, and
fail-orphaned-runs for a production code server's start)."""

import argparse
import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("prepare", help="write dbt_project/target/manifest.json (dbt parse), needed before loading definitions")
    materialize = commands.add_parser(
        "materialize",
        help="materialize a pipeline's assets (every pipeline's without --group), recorded in DAGSTER_HOME",
    )
    materialize.add_argument("--group", help="the pipeline's asset group (its folder under pipeline/defs/)")
    materialize.add_argument("--start", help="first partition key, e.g. a day YYYY-MM-DD (default: the first with data)")
    materialize.add_argument("--end", help="last partition key, inclusive (default: the last with data)")
    commands.add_parser("ui", help="dagster dev on 127.0.0.1:3000 over the same DAGSTER_HOME the commands write to")
    commands.add_parser("demo", help="generate a sample lake under .local/, materialize it all and print a summary")
    commands.add_parser("generate", help="write a sample Sparkify lake (see: python -m pipeline generate --help)", add_help=False)
    orphans = commands.add_parser(
        "fail-orphaned-runs",
        help="before a code server starts: fail the runs its predecessor's killed workers left STARTED",
    )
    orphans.add_argument("--location", default="data_platform", help="the code location's name (default: data_platform)")

    args, rest = parser.parse_known_args(argv)
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
    if args.command == "fail-orphaned-runs":
        from pipeline.lib.orphaned_runs import main as fail_orphaned_runs

        return fail_orphaned_runs(args.location)

    from pipeline.lib.materialize import UsageError, materialize_command

    try:
        if args.command == "materialize":
            return materialize_command(args.group, args.start, args.end)
        return _demo(materialize_command)
    except UsageError as error:
        parser.exit(2, f"{parser.prog} {args.command}: error: {error}\n")


def _demo(materialize_command) -> int:
    from pipeline.defs.sparkify.sample_data import prepare_demo_lake

    prepare_demo_lake()
    status = materialize_command(None, None, None)
    print(
        "\nOpen the UI to see these runs, their logs and the asset graph:\n"
        f"  make ui        (dagster dev on http://127.0.0.1:3000, DAGSTER_HOME={os.environ['DAGSTER_HOME']})"
    )
    return status


def _dagster_dev() -> int:
    from pipeline.lib.instance import ensure_dagster_home
    from pipeline.lib.settings import REPO_ROOT, export_defaults

    export_defaults()
    ensure_dagster_home()
    dagster = Path(sys.executable).with_name("dagster")
    command = [str(dagster), "dev", "-w", str(REPO_ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", "3000"]
    os.chdir(REPO_ROOT)
    os.execv(command[0], command)


if __name__ == "__main__":
    sys.exit(main())
