"""docs/configuration.md and the code agree: every environment variable the code reads is documented there, and
every variable documented there is read by the code (or by the library its row names).

"Read by the code" is what these regular expressions find, so the test needs no import and no Dagster:
- pipeline/**/*.py: `validation_alias="NAME"` (pydantic settings fields), `env("NAME")`, `EnvVar("NAME")` and
  `EnvVar.int("NAME")`, `environ.get("NAME"`, `environ["NAME"]`, `getenv("NAME"`, the `_secret("NAME")` and
  `_optional("NAME")` helpers of pipeline/lib/environment.py, and the keys of the dict literals given to
  `declare_defaults({...})` and of `DEFAULTS = {...}`; a module-level constant (`VARIABLE = "NAME"`) passed
  instead of the literal counts as its value. Not the files of a task's own folder (pipeline/defs/tasks/<task>/):
  those are the task's inputs, set by its defs.yaml.
- pipeline/**/defs.yaml: `{{ env.NAME }}` templates (a task's env naming the platform's variables).
- dbt_project/**/*.yml: `env_var('NAME'`.
deploy/ is not counted: deploy/dagster.yaml's variables are the Dagster instance's (deploy/env.example).

"Documented" is a name in backticks in the first column of a table row of docs/configuration.md.
"""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "configuration.md"

NAME = r"[A-Z][A-Z0-9_]*"
# A call's first argument: a string literal, or an identifier (a module constant, resolved below).
ARGUMENT = rf"""\(\s*(?:["']({NAME})["']|([A-Za-z_]\w*)\s*[,)])"""
CALLS = (
    r"(?<!\w)env",
    r"\bEnvVar(?:\.int)?",
    r"\benviron\.get",
    r"\bgetenv",
    r"(?<![\w.])_secret",
    r"(?<![\w.])_optional",
)
ALIAS = re.compile(rf"""validation_alias\s*=\s*(?:["']({NAME})["']|([A-Za-z_]\w*)\b)""")
CALL = re.compile("(?:" + "|".join(CALLS) + ")" + ARGUMENT)
SUBSCRIPT = re.compile(rf"""\benviron\[\s*(?:["']({NAME})["']|([A-Za-z_]\w*))\s*\]""")
CONSTANT = re.compile(rf"""^([A-Z_][A-Z0-9_]*)\s*=\s*["']({NAME})["']""", re.MULTILINE)
DEFAULTS_BLOCKS = (
    re.compile(r"declare_defaults\(\s*\{(.*?)\}\s*\)", re.DOTALL),
    re.compile(r"^DEFAULTS\s*=\s*\{(.*?)^\}", re.DOTALL | re.MULTILINE),
)
DICT_KEY = re.compile(rf"""["']({NAME})["']\s*:""")
LITERAL_DEFAULT = re.compile(rf"""["']({NAME})["']\s*:\s*["']([^"']*)["']\s*,""")  # "NAME": "value", in those blocks
TEMPLATE = re.compile(rf"\{{\{{\s*env\.({NAME})\s*\}}\}}")
DBT_ENV_VAR = re.compile(rf"""env_var\(\s*["']({NAME})["']""")
DBT_DEFAULT = re.compile(rf"""env_var\(\s*["']({NAME})["']\s*,\s*["']([^"']*)["']\s*\)""")

# Defaults the settings refactor changes in pipeline/lib/settings.py and dbt_project/profiles.yml: the code's
# current value is accepted beside the documented one until then (a platform default names no pipeline).
PENDING_DEFAULTS = {"POSTGRES_DB": "sparkify", "SNOWFLAKE_DATABASE": "SPARKIFY"}

# Read by the code but not configuration: set for the processes they start by Dagster, dbt, the platform itself
# or the system. Never documented as settings (docs/configuration.md names them in prose).
NOT_CONFIGURATION = {
    "DAGSTER_IS_DEV_CLI",  # set by `dagster dev` / `dg dev` (pipeline/lib/dbt/project.py refreshes the manifest)
    "DBT_WARM_SOCKET",  # the warm dbt server's socket, set by the code server for the processes below it
    "DBT_TARGET_PATH",  # dbt's own variable (dagster-dbt's invocation folders); the housekeeping only follows it
    "SANDBOX_ENTERED",  # set by a sandbox's process once its environment is the sandbox's
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


def _in_a_task_folder(path: Path) -> bool:
    parts = path.relative_to(REPO).parts
    return parts[:3] == ("pipeline", "defs", "tasks") and len(parts) > 4


def _python_reads(text: str) -> set[str]:
    constants = dict(CONSTANT.findall(text))
    names = set()
    for pattern in (ALIAS, CALL, SUBSCRIPT):
        for literal, identifier in pattern.findall(text):
            names.add(literal or constants.get(identifier, ""))
    for block_pattern in DEFAULTS_BLOCKS:
        for block in block_pattern.findall(text):
            names.update(DICT_KEY.findall(block))
    return names - {""}


def variables_read() -> dict[str, set[str]]:
    """Each variable the code reads, with the files that read it."""
    read: dict[str, set[str]] = {}

    def add(names, path: Path) -> None:
        for name in names:
            read.setdefault(name, set()).add(str(path.relative_to(REPO)))

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


def code_defaults() -> dict[str, set[str]]:
    """The plain string defaults the code gives: declare_defaults/DEFAULTS literals, dbt's env_var('NAME', '...')."""
    defaults: dict[str, set[str]] = {}
    for path in sorted((REPO / "pipeline").rglob("*.py")):
        text = path.read_text()
        for block_pattern in DEFAULTS_BLOCKS:
            for block in block_pattern.findall(text):
                for name, value in LITERAL_DEFAULT.findall(block):
                    defaults.setdefault(name, set()).add(value)
    for path in sorted((REPO / "dbt_project").rglob("*.yml")):
        if not {"target", "logs", "dbt_packages"} & set(path.relative_to(REPO / "dbt_project").parts):
            for name, value in DBT_DEFAULT.findall(path.read_text()):
                defaults.setdefault(name, set()).add(value)
    return defaults


def test_the_collector_finds_each_form_of_reading():
    """The patterns themselves, on one sample of each form (so a pattern that stops matching fails here)."""
    sample = """
VARIABLE = "FROM_A_CONSTANT"
x: str = Field(validation_alias="FROM_AN_ALIAS")
env("FROM_ENV"); env('FROM_ENV_QUOTED'); dg.EnvVar("FROM_ENVVAR"); dg.EnvVar.int("FROM_ENVVAR_INT")
os.environ.get("FROM_GET", ""); os.environ["FROM_SUBSCRIPT"]; os.getenv("FROM_GETENV")
_secret("FROM_SECRET"); _optional("FROM_OPTIONAL"); os.environ.get(VARIABLE)
declare_defaults(
    {
        "FROM_DECLARE": str(LOCAL_DIR / "x"),  # a comment
        "FROM_DECLARE_TOO": "",
    }
)
settings.env("FROM_MODULE_ENV"); getenv_like("NOT_THIS"); os.environ.get(lowercase_name); environment("NOR_THIS")
"""
    assert _python_reads(sample) == {
        "FROM_A_CONSTANT",
        "FROM_AN_ALIAS",
        "FROM_ENV",
        "FROM_ENV_QUOTED",
        "FROM_ENVVAR",
        "FROM_ENVVAR_INT",
        "FROM_GET",
        "FROM_SUBSCRIPT",
        "FROM_GETENV",
        "FROM_SECRET",
        "FROM_OPTIONAL",
        "FROM_DECLARE",
        "FROM_DECLARE_TOO",
        "FROM_MODULE_ENV",
    }
    assert TEMPLATE.findall('LAKE: "{{ env.SPARKIFY_DATA_URI }}/x"') == ["SPARKIFY_DATA_URI"]
    assert DBT_ENV_VAR.findall("dbname: \"{{ env_var('POSTGRES_DB', 'warehouse') }}\"") == ["POSTGRES_DB"]


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
    """Where a row's default is one value in backticks and the code's is a plain string, they are the same."""
    code = code_defaults()
    differ = {}
    for row in _rows():
        names = re.findall(rf"^`({NAME})`$", row[0])
        value = re.fullmatch(r"`([^`]*)`", row[1])
        if names and value and names[0] in code:
            accepted = {value[1], PENDING_DEFAULTS.get(names[0], value[1])}
            if not code[names[0]] <= accepted:
                differ[names[0]] = {"documented": value[1], "code": sorted(code[names[0]])}
    assert not differ, differ
