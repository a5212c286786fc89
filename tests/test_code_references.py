"""Every asset links to the code that declares it: a Python asset to its pipeline's module and the line where it is
declared (not to the retry wrapper, nor to the kit that built it), a dbt model to its `.sql`, a task to its
defs.yaml; with CODE_REFERENCES_GIT_URL, to the same files in that repository at CODE_REFERENCES_GIT_REF."""

import ast
import functools
from pathlib import Path

import dagster as dg
import pytest
from pydantic import ValidationError

from pipeline.lib.code_references import CODE_REFERENCES, with_own_references
from pipeline.lib.retries import retried_on_fault
from pipeline.lib.settings import Settings
from tests.platform import default_definitions, definitions

REPO = Path(__file__).resolve().parent.parent
GIT_URL = "https://github.com/acme/data-platform"


def references(defs: dg.Definitions) -> dict[str, list]:
    """Each asset's code references, by its key."""
    found = {}
    for spec in defs.resolve_all_asset_specs():
        value = spec.metadata.get(CODE_REFERENCES)
        found[spec.key.to_user_string()] = value.code_references if value else []
    return found


@functools.cache
def declarations(path: Path) -> dict[int, str]:
    """The source of each declaration in a module by its first line: a decorated function (from its first
    decorator) and a call (a kit's `observation_asset(...)`)."""
    source = path.read_text()
    lines = source.splitlines()
    found = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef) and node.decorator_list:
            first = node.decorator_list[0].lineno
            found[first] = "\n".join(lines[first - 1 : node.end_lineno])
        elif isinstance(node, ast.Call):
            found.setdefault(node.lineno, ast.get_source_segment(source, node))
    return found


def test_every_asset_links_to_the_code_that_declares_it():
    defs = default_definitions()
    dbt_keys = {
        spec.key.to_user_string() for spec in defs.resolve_all_asset_specs() if "dagster_dbt/unique_id" in spec.metadata
    }
    groups = {spec.key.to_user_string(): spec.group_name for spec in defs.resolve_all_asset_specs()}
    found = references(defs)
    assert dbt_keys and len(found) > len(dbt_keys)
    for key, refs in found.items():
        assert len(refs) == 1 and isinstance(refs[0], dg.LocalFileCodeReference), (key, refs)
        path = Path(refs[0].file_path)
        assert path.is_file(), (key, path)
        where = path.relative_to(REPO).parts
        name = key.split("/")[-1]
        if key in dbt_keys:  # its .sql, in its pipeline's folder of models
            assert where[:3] == ("dbt_project", "models", groups[key]) and path.name == f"{name}.sql", (key, path)
            assert refs[0].line_number is None
        elif groups[key] == "tasks":  # the task's own folder and YAML
            assert where == ("pipeline", "defs", "tasks", name, "defs.yaml"), (key, path)
        else:  # the pipeline's module, at the asset's decorator or at the kit's call that names it
            assert where[:3] == ("pipeline", "defs", groups[key]), (key, path)
            declared = declarations(path).get(refs[0].line_number)
            assert declared and (f'"{name}"' in declared or f"def {name}(" in declared), (key, refs[0].source)


def test_with_a_repository_the_references_are_its_pages_at_the_ref():
    local = references(default_definitions())
    linked = references(definitions({"CODE_REFERENCES_GIT_URL": f"{GIT_URL}.git", "CODE_REFERENCES_GIT_REF": "v1.2"}))
    assert linked.keys() == local.keys()
    for key, refs in linked.items():
        (ref,) = refs
        (file,) = local[key]
        path = Path(file.file_path).relative_to(REPO).as_posix()
        line = f"#L{file.line_number}" if file.line_number else ""
        assert isinstance(ref, dg.UrlCodeReference) and ref.url == f"{GIT_URL}/tree/v1.2/{path}{line}", (key, ref)


@pytest.mark.parametrize("url", ["https://git.acme.internal/data-platform", "github.com/acme/data-platform"])
def test_a_repository_dagster_cannot_link_to_is_refused_when_the_settings_load(url):
    with pytest.raises(ValidationError, match="GitHub or GitLab"):
        Settings.from_env({"CODE_REFERENCES_GIT_URL": url})


def test_a_retried_asset_links_to_its_own_function_not_to_the_retry_wrapper():
    """`@retried_on_fault` keeps the function in `__wrapped__`, which the platform's pass follows. Dagster's own
    with_source_code_references reads the wrapper's file (pipeline/lib/retries.py) with the function's line: the
    last assertion fails when a Dagster release unwraps, and then its helper could replace the platform's pass."""

    @dg.asset
    @retried_on_fault
    def retried() -> None:
        return None

    line = retried.op.compute_fn.decorated_fn.__wrapped__.__code__.co_firstlineno
    (ref,) = with_own_references(retried).specs_by_key[dg.AssetKey("retried")].metadata[CODE_REFERENCES].code_references
    assert (ref.file_path, ref.line_number) == (__file__, line)
    assert Path(__file__).read_text().splitlines()[line - 1].strip() == "@dg.asset"
    (dagster_s,) = (
        dg.with_source_code_references([retried])[0].metadata_by_key[retried.key][CODE_REFERENCES].code_references
    )
    assert Path(dagster_s.file_path).name == "retries.py"
