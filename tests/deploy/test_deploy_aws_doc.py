"""docs/deploy-aws.md names what exists: its template files, the stacks its commands deploy, the parameters and
outputs in its commands and tables (with their defaults), so the guide cannot drift from the templates."""

import re
from pathlib import Path

import pytest

from tests.deploy.stacks import TEMPLATES, load

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "deploy-aws.md"
STACKS = ("data", "compute", "host", "ecs-service")


@pytest.fixture(scope="module")
def templates() -> dict[str, dict]:
    return {stack: load(TEMPLATES / f"{stack}.yaml") for stack in STACKS}


def table_rows(text: str, header: str) -> list[list[str]]:
    """The rows of the table whose header row starts with `header`."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def code_blocks(text: str) -> str:
    return "\n".join(re.findall(r"```bash\n(.*?)```", text, re.S))


def test_every_template_file_and_stack_the_guide_names_exists(templates):
    text = DOC.read_text()
    named = set(re.findall(r"deploy/cloudformation/([\w.-]+)", text))
    assert {f"{stack}.yaml" for stack in STACKS} <= named  # every template is in the guide
    assert all((TEMPLATES / name).exists() for name in named), named - {p.name for p in TEMPLATES.iterdir()}
    commands = code_blocks(text)
    deployed = {s for group in re.findall(r'STACKS="([^"]+)"', commands) for s in group.split()}
    assert deployed and deployed <= set(STACKS)
    for stack in re.findall(r'--stack-name "\$PROJECT_NAME-([\w-]+)"', commands):
        assert stack in STACKS, stack
    for stack in re.findall(r"for stack in ([\w -]+);", commands)[0].split():
        assert stack in STACKS


def test_the_commands_parameters_and_outputs_are_the_templates(templates):
    commands = code_blocks(DOC.read_text())
    for variable, words in re.findall(r'\b([A-Z_]+)_PARAMETERS="([^"]*)"', commands):
        stack = variable.lower().replace("_", "-")
        for key in re.findall(r"(\w+)=", words):
            assert key in templates[stack]["Parameters"], f"{stack} has no parameter {key}"
    for stack, output in re.findall(r"--stack-name \"\$PROJECT_NAME-([\w-]+)\".*?OutputKey=='(\w+)'", commands, re.S):
        assert output in templates[stack]["Outputs"], f"{stack} has no output {output}"


def _names(cell: str) -> list[str]:
    return re.findall(r"`([A-Z][A-Za-z0-9]+)`", cell)


def test_the_parameter_table_names_each_templates_parameters_and_defaults(templates):
    rows = table_rows(DOC.read_text(), "| stack | parameter |")
    assert rows
    for stack_cell, parameter_cell, default_cell, _ in rows:
        stacks = STACKS if stack_cell == "all" else (stack_cell,)
        names = _names(parameter_cell)
        assert names, parameter_cell
        defaults = [d.strip() for d in default_cell.split(",")]
        for stack in stacks:
            parameters = templates[stack]["Parameters"]
            for position, name in enumerate(names):
                assert name in parameters, f"{stack} has no parameter {name}"
                if len(defaults) != len(names):
                    continue
                written, actual = defaults[position], parameters[name].get("Default")
                if written == "(required)":
                    assert actual is None, f"{stack}.{name} has a default: {actual!r}"
                elif written == "empty":
                    assert actual == "", f"{stack}.{name}: {actual!r}"
                elif re.fullmatch(r"`[^`]*`|\d+", written):
                    assert str(actual) == written.strip("`"), f"{stack}.{name}: {actual!r}, the guide {written}"


def test_the_output_table_names_each_templates_outputs(templates):
    rows = table_rows(DOC.read_text(), "| stack | output |")
    assert rows
    for stack, output_cell, _ in rows:
        for name in _names(output_cell):
            assert name in templates[stack]["Outputs"], f"{stack} has no output {name}"
