"""The dbt models' contracts (dbt_project.yml: contract enforced; each column's data_type in its _models.yml): a
model whose SQL gives a column another type than declared fails its build with dbt's own message, and the table
built before is left as it was."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import duckdb

from pipeline.lib.dbt.fork_server import DBT_EXECUTABLE
from pipeline.lib.settings import DBT_PROJECT_DIR

DECLARED = "cast(extract(year from cal_date) as integer) as year"
DRIFTED = "cast(extract(year from cal_date) as bigint) as year"


def build(project: Path, warehouse: Path, select: str) -> subprocess.CompletedProcess:
    """`dbt build` of the selection on DuckDB (calendar_date reads no source: it needs no loaded table)."""
    folders = ["--project-dir", str(project), "--profiles-dir", str(project), "--target-path", str(project / "target")]
    return subprocess.run(
        [DBT_EXECUTABLE, "build", "--select", select, "--target", "duckdb", *folders],
        env={**os.environ, "WAREHOUSE": "duckdb", "DUCKDB_PATH": str(warehouse), "DBT_LOG_PATH": str(project / "logs")},
        capture_output=True,
        text=True,
        timeout=300,
    )


def year_type(warehouse: Path) -> str:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        sql = "select data_type from information_schema.columns where table_name = ? and column_name = ?"
        return connection.execute(sql, ["calendar_date", "year"]).fetchone()[0]


def test_a_column_cast_to_another_type_than_declared_fails_the_build_with_dbts_contract_error(tmp_path):
    project = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    model = project / "models" / "nyc_taxi" / "nyc_analytics" / "calendar_date.sql"
    warehouse = tmp_path / "warehouse.duckdb"

    as_declared = build(project, warehouse, "calendar_date")
    assert as_declared.returncode == 0, as_declared.stdout[-3000:]
    assert year_type(warehouse) == "INTEGER"

    sql = model.read_text()
    assert DECLARED in sql
    model.write_text(sql.replace(DECLARED, DRIFTED))
    drifted = build(project, warehouse, "calendar_date")
    assert drifted.returncode != 0
    assert "This model has an enforced contract that failed." in drifted.stdout
    assert re.search(r"\|\s*year\s*\|\s*BIGINT\s*\|\s*INTEGER\s*\|\s*data type mismatch", drifted.stdout), (
        drifted.stdout[-3000:]
    )
    assert year_type(warehouse) == "INTEGER"
