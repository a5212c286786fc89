"""`python -m pipeline`: the platform's command line (prepare, materialize, ui, demo, generate, check-tasks,
task-images; for production hosts, fail-orphaned-runs at a code server's start and env-file at a host's boot).
It names no pipeline: the demo and `generate` find each pipeline's demo.py as the code location finds its
definitions.py."""

import argparse
import importlib
import os
import sys
from pathlib import Path

DEFS = Path(__file__).parent / "defs"
TASKS = DEFS / "tasks"


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
    ui = commands.add_parser("ui", help="dg dev on 127.0.0.1:3000 over the same DAGSTER_HOME the commands write to")
    ui.add_argument("--port", type=int, default=3000, help="the web UI's port on 127.0.0.1 (default 3000)")
    demo = commands.add_parser(
        "demo", help="generate sample data under .local/, materialize it all and print a summary"
    )
    demo.add_argument("--group", help="only this pipeline's demo (its folder under pipeline/defs/)")
    commands.add_parser(
        "generate",
        help="write a pipeline's sample data: python -m pipeline generate PIPELINE OUT_DIR [its options]",
        add_help=False,
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

    env_file = commands.add_parser(
        "env-file",
        help="at a host's boot: the deployment's environment file (KEY=value lines) from SSM parameters and secrets",
    )
    env_file.add_argument("--ssm-path", help="every parameter under this path, named by the variable it holds")
    env_file.add_argument(
        "--secret", action="append", default=[], help="a Secrets Manager secret: a JSON object of variables"
    )
    env_file.add_argument("--output", type=Path, help="write it here (mode 0600, whole or not at all), not to stdout")

    args, rest = parser.parse_known_args(argv)
    if args.command == "generate":
        return _generate(parser, rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.command == "env-file":  # before any setting is read: this writes them
        return _env_file(parser, args)
    from pydantic import ValidationError

    from pipeline.lib.materialize import UsageError
    from pipeline.lib.settings import Settings, settings_problems

    try:
        settings = Settings.from_env()
        if args.command == "prepare":  # dbt's manifest is the project's, shared by every sandbox
            from pipeline.lib.dbt.manifest import prepare_manifest

            prepare_manifest(settings.dbt_variables(), settings.warehouse, force=True)
            return 0
        if args.command == "fail-orphaned-runs":
            from pipeline.lib.orphaned_runs import main as fail_orphaned_runs

            return fail_orphaned_runs(args.location)
        _say_sandbox(settings)
        if args.command == "ui":
            return _dagster_dev(settings, args.port)
        if args.command in ("check-tasks", "task-images"):
            return _tasks_command(args, settings)
        if args.command == "materialize":
            return _materialize(settings, args.group, args.start, args.end)
        return _demo(group=args.group)
    except UsageError as error:
        parser.exit(2, f"{parser.prog} {args.command}: error: {error}\n")
    except ValidationError as error:
        parser.exit(2, f"{parser.prog} {args.command}: error: {settings_problems(error)}\n")


def _env_file(parser: argparse.ArgumentParser, args) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from pipeline.lib.environment_file import EnvironmentFileError, environment_file, write_atomically

    if not args.ssm_path and not args.secret:
        parser.error("env-file: give --ssm-path, --secret or both")
    try:
        text = environment_file(args.ssm_path, args.secret)
    except (EnvironmentFileError, BotoCoreError, ClientError) as error:
        parser.exit(2, f"{parser.prog} env-file: error: {error}\n")
    if args.output:
        write_atomically(text, args.output)
        print(f"env-file: {len(text.splitlines())} variables -> {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _say_sandbox(settings) -> None:
    if settings.sandbox:
        print(
            f"sandbox {settings.sandbox}: DAGSTER_HOME={settings.dagster_home}, DUCKDB_PATH={settings.duckdb_path}, "
            f"schemas prefixed {settings.schema_prefix}",
            flush=True,
        )


def _quiet_dagster() -> None:
    """The terminal keeps the command's summary: Dagster's notices that an API is in beta or preview (backfill
    policies, partitioned checks) are the platform's choices, not the user's to act on."""
    import warnings

    import dagster as dg

    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    warnings.filterwarnings("ignore", category=dg.PreviewWarning)


def _warm_dbt(settings) -> None:
    """The commands that run dbt own a warm dbt from their start: it imports dbt on the other core while the
    definitions load, and serves every dbt command of the command's runs."""
    from pipeline.lib.dbt import fork_server
    from pipeline.lib.dbt.cli import warm_dbt_enabled

    if warm_dbt_enabled(settings.dbt_warm):
        fork_server.ensure_running()


def _materialize(settings, group: str | None, start: str | None, end: str | None) -> int:
    from pipeline.code_location import build_pipelines, data_ranges, definitions_of
    from pipeline.lib.materialize import materialize_command

    _quiet_dagster()
    _warm_dbt(settings)
    settings, pipelines = build_pipelines(settings)
    return materialize_command(settings, definitions_of(settings, pipelines), data_ranges(pipelines), group, start, end)


def _demo(folder: Path | None = None, group: str | None = None) -> int:
    """`make demo`: every pipeline's demo data and services (under `folder`, .local/ by default), every group
    materialized, a summary."""
    from pipeline.code_location import build_pipelines, data_ranges, definitions_of
    from pipeline.lib.demo import folder_demos, run_demo
    from pipeline.lib.settings import LOCAL_DIR, Settings

    _quiet_dagster()
    _warm_dbt(Settings.from_env())

    def build(settings):
        settings, pipelines = build_pipelines(settings)
        return settings, definitions_of(settings, pipelines), data_ranges(pipelines)

    return run_demo(folder_demos(DEFS, importlib.import_module), build, os.environ, folder or LOCAL_DIR, group)


def _generate(parser: argparse.ArgumentParser, argv: list[str]) -> int:
    from pipeline.lib.demo import folder_demos

    demos = {name: demo for name, demo in folder_demos(DEFS, importlib.import_module).items() if demo.generate}
    if not argv or argv[0] not in demos:
        parser.error(f"generate: give a pipeline first, one of: {', '.join(demos)}")
    return demos[argv[0]].generate(argv[1:])


def _tasks_command(args, settings) -> int:
    from pipeline.code_location import complete_settings
    from pipeline.lib.tasks.images import task_images_command
    from pipeline.lib.tasks.review import check_tasks_command
    from pipeline.lib.tasks.settings import TasksSettings

    settings = complete_settings(settings)
    tasks, variables = TasksSettings.resolve(settings), settings.resolved_variables()
    if args.command == "check-tasks":
        return check_tasks_command(TASKS, variables, tasks.role_prefix)
    return task_images_command(TASKS, args.push, args.dry_run, tasks, variables)


def _dagster_dev(settings, port: int) -> int:
    """`make ui`: `dg dev` (what `dagster dev` now says to use) on the workspace over DAGSTER_HOME, with the demo's
    recorded settings for those you have not set."""
    from pipeline.lib.instance import demo_env_path, ensure_dagster_home, with_demo_environment
    from pipeline.lib.settings import REPO_ROOT

    environ, applied, replaced = with_demo_environment(os.environ, settings.dagster_home)
    recorded = demo_env_path(settings.dagster_home)
    if applied:
        print(f"ui: the demo's settings from {recorded}: " + ", ".join(f"{k}={v}" for k, v in applied.items()))
    for name, value in replaced.items():
        print(f"ui: your {name}={os.environ[name]}, not the demo's {value} ({recorded})")
    ensure_dagster_home(settings.dagster_home)
    dg = Path(sys.executable).with_name("dg")
    command = [str(dg), "dev", "-w", str(REPO_ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)]
    os.chdir(REPO_ROOT)
    # dg dev and its code server get the instance's folder by DAGSTER_HOME, the rest as the user set it.
    os.execve(command[0], command, {**environ, "DAGSTER_HOME": settings.dagster_home})


if __name__ == "__main__":
    sys.exit(main())
