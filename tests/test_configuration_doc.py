"""docs/configuration.md and the code agree: every environment variable the code reads is documented there, and
every variable documented there is read by the code (or by the library its row names); a documented default is
the code's, and dbt's own default for a variable is the Python side's.

"Read by the code":
- every field of a settings model (pipeline/lib/settings.py's Settings, each pipeline's PipelineSettings, the
  tasks' TasksSettings), by its `validation_alias`, with its default; and the connection variables that have no
  field (CONNECTION_DEFAULTS);
- what these regular expressions find in pipeline/**/*.py: `EnvVar("NAME")` and `EnvVar.int("NAME")`,
  `environ.get("NAME"`, `environ["NAME"]`, `getenv("NAME"`, and the helpers that read a variable by name
  (`_secret(settings, "NAME")`, `_optional(settings, "NAME")`, `_key(platform, "NAME")`,
  `settings.variable("NAME")`, `settings.is_set("NAME")`); a module-level constant (`VARIABLE = "NAME"`) passed
  instead of the literal counts as its value. Not the files of a task's own folder
  (pipeline/defs/tasks/<task>/): those are the task's inputs, set by its defs.yaml;
- pipeline/**/defs.yaml: `{{ env.NAME }}` templates (a task's env naming the platform's variables);
- dbt_project/**/*.yml: `env_var('NAME'`.
deploy/ is not counted: deploy/dagster.yaml's variables are the Dagster instance's (deploy/env.example).

"Documented" is a name in backticks in the first column of a table row of docs/configuration.md.
"""

import importlib
import re
from pathlib import Path

from pipeline.lib.settings import CONNECTION_DEFAULTS, EnvironmentSettings, Settings

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "configuration.md"

NAME = r"[A-Z][A-Z0-9_]*"
# A call's argument naming a variable: a string literal, or an identifier (a module constant, resolved below).
NAMED = rf"""(?:["']({NAME})["']|([A-Za-z_]\w*)\s*[,)])"""
CALLS = (r"\bEnvVar(?:\.int)?", r"\benviron\.get", r"\bgetenv")
# Helpers whose argument after the settings value names the variable they read.
HELPERS = (r"(?<![\w.])_secret", r"(?<![\w.])_optional", r"(?<![\w.])_key", r"\.variable", r"\.is_set")
CALL = re.compile("(?:" + "|".join(CALLS) + r")\(\s*" + NAMED)
HELPER = re.compile("(?:" + "|".join(HELPERS) + r")\((?:\s*\w+\s*,)?\s*" + NAMED)
SUBSCRIPT = re.compile(rf"""\benviron\[\s*(?:["']({NAME})["']|([A-Za-z_]\w*))\s*\]""")
CONSTANT = re.compile(rf"""^([A-Z_][A-Z0-9_]*)\s*=\s*["']({NAME})["']""", re.MULTILINE)
TEMPLATE = re.compile(rf"\{{\{{\s*env\.({NAME})\s*\}}\}}")
DBT_ENV_VAR = re.compile(rf"""env_var\(\s*["']({NAME})["']""")
DBT_DEFAULT = re.compile(rf"""env_var\(\s*["']({NAME})["']\s*,\s*["']([^"']*)["']\s*\)""")

# Read by the code but not configuration: set for the processes they start by Dagster, dbt, the platform itself
# or the system. Never documented as settings (docs/configuration.md names them in prose).
NOT_CONFIGURATION = {
    "DAGSTER_IS_DEV_CLI",  # set by `dagster dev` / `dg dev` (pipeline/lib/dbt/project.py refreshes the manifest)
    "DBT_WARM_SOCKET",  # the warm dbt server's socket, set by the process that started it for those below it
    "DBT_TARGET_PATH",  # dbt's own variable (dagster-dbt's invocation folders); the housekeeping only follows it
    "PATH",  # the local task runner passes it on to a task's subprocess
}
# Documented, but read by a library rather than by this code: boto3, google-cloud-storage, dbt.
READ_BY_LIBRARIES = {
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "STORAGE_EMULATOR_HOST",
    "DBT_SEND_ANONYMOUS_USAGE_STATS",
}


def settings_models() -> list[type[EnvironmentSettings]]:
    """The platform's settings and every settings model of a folder (its settings.py) or of the tasks."""
    modules = [
        f"pipeline.defs.{path.parent.name}.settings" for path in (REPO / "pipeline" / "defs").glob("*/settings.py")
    ]
    models = [Settings]
    for name in [*sorted(modules), "pipeline.lib.tasks.settings"]:
        module = importlib.import_module(name)
        models += [
            value
            for value in vars(module).values()
            if isinstance(value, type) and issubclass(value, EnvironmentSettings) and value.__module__ == name
        ]
    return models


def model_defaults() -> dict[str, str]:
    """Each settings variable with its default, as text: the models' and the connection variables'."""
    defaults = dict(CONNECTION_DEFAULTS)
    for model in settings_models():
        defaults.update(model.variable_defaults())
    return defaults


def _in_a_task_folder(path: Path) -> bool:
    parts = path.relative_to(REPO).parts
    return parts[:3] == ("pipeline", "defs", "tasks") and len(parts) > 4


def _python_reads(text: str) -> set[str]:
    constants = dict(CONSTANT.findall(text))
    names = set()
    for pattern in (CALL, HELPER, SUBSCRIPT):
        for literal, identifier in pattern.findall(text):
            names.add(literal or constants.get(identifier, ""))
    return names - {""}


def variables_read() -> dict[str, set[str]]:
    """Each variable the code reads, with the files that read it."""
    read: dict[str, set[str]] = {}

    def add(names, path: Path) -> None:
        for name in names:
            read.setdefault(name, set()).add(str(path.relative_to(REPO)))

    for model in settings_models():
        add(model.variable_defaults(), REPO / (model.__module__.replace(".", "/") + ".py"))
    add(CONNECTION_DEFAULTS, REPO / "pipeline" / "lib" / "settings.py")
    for path in sorted((REPO / "pipeline").rglob("*.py")):
        if not _in_a_task_folder(path):
            add(_python_reads(path.read_text()), path)
    for path in sorted((REPO / "pipeline").rglob("defs.yaml")):
        add(TEMPLATE.findall(path.read_text()), path)
    for path in sorted((REPO / "dbt_project").rglob("*.yml")):
        if not {"target", "logs", "dbt_packages"} & set(path.relative_to(REPO / "dbt_project").parts):
            add(DBT_ENV_VAR.findall(path.read_text()), path)
    return read


def _rows() -> list[list[str]]:
    """The cells of each table row of docs/configuration.md."""
    return [
        [cell.strip() for cell in line.split("|")[1:-1]]
        for line in DOC.read_text().splitlines()
        if line.startswith("|")
    ]


def variables_documented() -> set[str]:
    return {name for row in _rows() for name in re.findall(rf"`({NAME})`", row[0])}


def dbt_defaults() -> dict[str, set[str]]:
    """dbt's own defaults: env_var('NAME', '...') in the project's YAML."""
    defaults: dict[str, set[str]] = {}
    for path in sorted((REPO / "dbt_project").rglob("*.yml")):
        if not {"target", "logs", "dbt_packages"} & set(path.relative_to(REPO / "dbt_project").parts):
            for name, value in DBT_DEFAULT.findall(path.read_text()):
                defaults.setdefault(name, set()).add(value)
    return defaults


def test_the_collector_finds_each_form_of_reading():
    """The patterns themselves, on one sample of each form (so a pattern that stops matching fails here)."""
    sample = """
VARIABLE = "FROM_A_CONSTANT"
dg.EnvVar("FROM_ENVVAR"); dg.EnvVar.int("FROM_ENVVAR_INT")
os.environ.get("FROM_GET", ""); os.environ["FROM_SUBSCRIPT"]; os.getenv("FROM_GETENV")
_secret(settings, "FROM_SECRET"); _optional(settings, "FROM_OPTIONAL"); os.environ.get(VARIABLE)
_key(platform, "FROM_KEY"); settings.variable("FROM_VARIABLE"); settings.is_set("FROM_IS_SET")
getenv_like("NOT_THIS"); os.environ.get(lowercase_name); environment("NOR_THIS"); my_secret(x, "NOR_THAT")
"""
    assert _python_reads(sample) == {
        "FROM_A_CONSTANT",
        "FROM_ENVVAR",
        "FROM_ENVVAR_INT",
        "FROM_GET",
        "FROM_SUBSCRIPT",
        "FROM_GETENV",
        "FROM_SECRET",
        "FROM_OPTIONAL",
        "FROM_KEY",
        "FROM_VARIABLE",
        "FROM_IS_SET",
    }
    assert TEMPLATE.findall('LAKE: "{{ env.SPARKIFY_DATA_URI }}/x"') == ["SPARKIFY_DATA_URI"]
    assert DBT_ENV_VAR.findall("dbname: \"{{ env_var('POSTGRES_DB', 'warehouse') }}\"") == ["POSTGRES_DB"]
    assert "SPARKIFY_FIRST_DAY" in model_defaults() and "TASKS_ENGINE" in model_defaults()


def test_every_variable_read_is_documented_and_every_documented_one_is_read():
    read = variables_read()
    documented = variables_documented()
    assert not READ_BY_LIBRARIES - documented, sorted(READ_BY_LIBRARIES - documented)
    configuration = set(read) - NOT_CONFIGURATION
    undocumented = {name: sorted(read[name]) for name in sorted(configuration - documented)}
    unread = sorted(documented - configuration - READ_BY_LIBRARIES)
    assert not undocumented and not unread, (
        f"read by the code but not in {DOC.relative_to(REPO)} (a row whose first column names it): {undocumented}; "
        f"documented there but read by no code: {unread}"
    )
    assert not NOT_CONFIGURATION & documented, "set by the platform, not by users: name them in prose, not a table"


def test_each_variable_is_documented_once():
    rows = [
        name
        for line in DOC.read_text().splitlines()
        if line.startswith("|")
        for name in re.findall(rf"`({NAME})`", line.split("|")[1])
    ]
    assert len(rows) == len(set(rows)), sorted({name for name in rows if rows.count(name) > 1})


def test_the_documented_defaults_are_the_code_s():
    """Where a row's default is one value in backticks, it is the settings model's (or the connection default);
    a default under the repository is documented relative to it (.local/lake)."""
    code = {name: value.replace(f"{REPO}/", "") for name, value in model_defaults().items()}
    differ = {}
    for row in _rows():
        names = re.findall(rf"^`({NAME})`$", row[0])
        value = re.fullmatch(r"`([^`]*)`", row[1])
        if names and value and names[0] in code and code[names[0]] != value[1]:
            differ[names[0]] = {"documented": value[1], "code": code[names[0]]}
    assert not differ, differ


def test_dbt_s_defaults_are_the_settings():
    """dbt reads a variable the platform resolved; when it is unset (dbt run by hand), its default is the same."""
    code = model_defaults()
    differ = {
        name: (values, code[name]) for name, values in dbt_defaults().items() if name in code and values != {code[name]}
    }
    assert not differ, differ
