"""The import contracts of pyproject.toml ([tool.importlinter], checked by `lint-imports` in make lint) catch
what they are there for: a lower layer importing a higher one, an import cycle, one pipeline importing another.

Each case runs lint-imports on a copy of pipeline/ and pyproject.toml in a temporary folder, once as it is and
once with one violation added, and looks for the violation in the second report only: the test holds whether
or not the code as it stands keeps every contract. lint-imports runs in the copy (its folder first on the
path, before the editable install), so grimp analyses the copy's files.
"""

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
CONTRACTS = {
    c["id"]: c["name"]
    for c in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
}


def make_copy(folder: Path) -> Path:
    shutil.copytree(ROOT / "pipeline", folder / "pipeline", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy2(ROOT / "pyproject.toml", folder / "pyproject.toml")
    return folder


def lint_imports(copy: Path) -> subprocess.CompletedProcess[str]:
    # A wide console: rich would wrap the report's lines at 80 columns otherwise.
    env = {**os.environ, "PYTHONPATH": str(copy), "COLUMNS": "300", "NO_COLOR": "1", "TERM": "dumb"}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-logo", "--no-cache"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def broken_section(report: str, contract_id: str) -> str:
    """The part of the report that explains why the contract is broken ('' where it is kept)."""
    _, _, broken = report.partition("\nBroken contracts\n")
    names = CONTRACTS.values()
    starts = sorted(i for name in names if (i := broken.find(f"\n{name}\n{'-' * len(name)}\n")) != -1)
    name = CONTRACTS[contract_id]
    start = broken.find(f"\n{name}\n{'-' * len(name)}\n")
    if start == -1:
        return ""
    end = next((i for i in starts if i > start), len(broken))
    return broken[start:end]


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> str:
    result = lint_imports(make_copy(tmp_path_factory.mktemp("baseline")))
    assert "Contracts:" in result.stdout, result.stdout + result.stderr  # it ran and checked the contracts
    return result.stdout


def add_lines(path: Path, *lines: str) -> None:
    with path.open("a") as file:
        file.write("\n" + "\n".join(lines) + "\n")


def test_lib_importing_a_pipeline_breaks_the_layers(baseline: str, tmp_path: Path) -> None:
    copy = make_copy(tmp_path)
    add_lines(copy / "pipeline/lib/retries.py", "import pipeline.defs.sparkify  # noqa: E402, F401")
    result = lint_imports(copy)
    assert result.returncode != 0
    assert f"{CONTRACTS['layers']} BROKEN" in result.stdout
    chain = re.compile(r"^- pipeline\.lib\.retries -> pipeline\.defs\.sparkify \(l\.\d+\)$", re.MULTILINE)
    assert chain.search(broken_section(result.stdout, "layers")), result.stdout
    assert not chain.search(baseline)


def test_an_import_cycle_in_lib_is_found(baseline: str, tmp_path: Path) -> None:
    copy = make_copy(tmp_path)
    (copy / "pipeline/lib/probe_a.py").write_text("import pipeline.lib.probe_b  # noqa: F401\n")
    (copy / "pipeline/lib/probe_b.py").write_text("import pipeline.lib.probe_a  # noqa: F401\n")
    result = lint_imports(copy)
    assert result.returncode != 0
    assert f"{CONTRACTS['acyclic']} BROKEN" in result.stdout
    # Either import of the two may be the one nominated to break the cycle.
    breaker = re.compile(r"^- \.probe_[ab] -> \.probe_[ab] \(1 import\)$", re.MULTILINE)
    assert breaker.search(broken_section(result.stdout, "acyclic")), result.stdout
    assert not breaker.search(baseline)


def test_a_pipeline_importing_another_breaks_their_independence(baseline: str, tmp_path: Path) -> None:
    copy = make_copy(tmp_path)
    (copy / "pipeline/defs/sparkify/probe.py").write_text("import pipeline.defs.weather  # noqa: F401\n")
    result = lint_imports(copy)
    assert result.returncode != 0
    assert f"{CONTRACTS['pipelines-independent']} BROKEN" in result.stdout
    section = broken_section(result.stdout, "pipelines-independent")
    assert "pipeline.defs.sparkify is not allowed to import pipeline.defs.weather:" in section, result.stdout
    chain = "- pipeline.defs.sparkify.probe -> pipeline.defs.weather (l.1)"
    assert chain in section
    assert chain not in baseline
