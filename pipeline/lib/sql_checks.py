"""SQL checks from YAML: the original quality operator's `{sql, expected}` pairs, as asset checks.

Users add a check by adding an entry to a pipeline's checks file, no Python needed:

    - name: songplays_has_rows          # unique, letters/digits/underscores
      asset: analytics/songplays        # the asset key it checks, parts joined by "/"
      sql: select count(*) > 0 from {analytics}.songplays
      expected: true                    # compared with the first column of the first row
      blocking: true                    # optional (default true): a failure stops downstream assets
      description: ...                  # optional

`{staging}` and `{analytics}` in the SQL stand for the configured schema names
(SPARKIFY_STAGING_SCHEMA, SPARKIFY_ANALYTICS_SCHEMA). A malformed file fails when the definitions
load, with the file, line and field at fault.
"""

import decimal
import re
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import yaml

from pipeline.lib.warehouse import Warehouse

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_FIELDS = {"name", "asset", "sql", "expected", "blocking", "description"}


@dataclass(frozen=True)
class SqlCheck:
    name: str
    asset: dg.AssetKey
    sql: str
    expected: object
    blocking: bool = True
    description: str = ""


class SqlCheckFileError(ValueError):
    pass


def load_sql_checks(
    path: Path, known_assets: set[dg.AssetKey], placeholders: dict[str, str] | None = None
) -> list[SqlCheck]:
    """The checks of a YAML file, each validated against the known asset keys, placeholders filled in."""
    try:
        root = yaml.compose(path.read_text(), Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise SqlCheckFileError(f"{path}: not valid YAML: {exc}") from None
    if root is None:
        return []
    if not isinstance(root, yaml.SequenceNode):
        raise SqlCheckFileError(f"{path}, line {root.start_mark.line + 1}: expected a list of checks")
    checks, names = [], set()
    for node in root.value:
        check = _parse_entry(path, node, known_assets, placeholders or {})
        if check.name in names:
            raise SqlCheckFileError(
                f"{path}, line {node.start_mark.line + 1}, field 'name': {check.name!r} is used twice"
            )
        names.add(check.name)
        checks.append(check)
    return checks


def _parse_entry(path: Path, node: yaml.Node, known_assets: set[dg.AssetKey], placeholders: dict[str, str]) -> SqlCheck:
    line = node.start_mark.line + 1

    def fail(field: str, problem: str):
        raise SqlCheckFileError(f"{path}, line {line}, field {field!r}: {problem}")

    if not isinstance(node, yaml.MappingNode):
        raise SqlCheckFileError(f"{path}, line {line}: a check must be a mapping of name, asset, sql, expected")
    entry = yaml.SafeLoader(path.read_text()).construct_document(node)
    for field in sorted(set(entry) - _FIELDS):
        fail(field, f"unknown field; allowed: {', '.join(sorted(_FIELDS))}")
    for field in ("name", "asset", "sql", "expected"):
        if field not in entry:
            fail(field, "missing")
    if not isinstance(entry["name"], str) or not _NAME.match(entry["name"]):
        fail("name", f"{entry['name']!r} must be letters, digits and underscores")
    if not isinstance(entry["sql"], str) or not entry["sql"].strip():
        fail("sql", "must be a non-empty SQL query")
    if isinstance(entry["expected"], (list, dict)):
        fail("expected", "must be a single value (number, text, true/false or null)")
    if not isinstance(entry.get("blocking", True), bool):
        fail("blocking", "must be true or false")
    sql = _PLACEHOLDER.sub(lambda m: placeholders.get(m.group(1), m.group(0)), entry["sql"].strip())
    unknown = sorted(set(_PLACEHOLDER.findall(sql)))
    if unknown:
        fail(
            "sql",
            f"unknown placeholder(s) {', '.join('{' + u + '}' for u in unknown)}; known: "
            f"{', '.join('{' + k + '}' for k in sorted(placeholders))}",
        )
    asset = dg.AssetKey(str(entry["asset"]).split("/"))
    if asset not in known_assets:
        known = ", ".join(sorted(k.to_user_string() for k in known_assets))
        fail("asset", f"unknown asset {entry['asset']!r}; known assets: {known}")
    return SqlCheck(
        name=entry["name"],
        asset=asset,
        sql=sql,
        expected=entry["expected"],
        blocking=entry.get("blocking", True),
        description=str(entry.get("description", "")),
    )


def result_matches(actual: object, expected: object) -> bool:
    """Warehouses return booleans, integers and decimals differently; compare them as values."""
    if expected is None or actual is None:
        return expected is actual
    if isinstance(expected, bool):
        return not isinstance(actual, str) and actual in (0, 1) and bool(actual) == expected
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float, decimal.Decimal)):
        return (
            decimal.Decimal(str(actual)) == decimal.Decimal(str(expected))
            if not isinstance(actual, bool)
            else int(actual) == expected
        )
    return str(actual) == str(expected)


def build_asset_check(check: SqlCheck) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=check.asset,
        name=check.name,
        blocking=check.blocking,
        description=check.description or f"`{check.sql}` returns {check.expected!r}",
    )
    def _sql_check(warehouse: Warehouse) -> dg.AssetCheckResult:
        rows = warehouse.query(check.sql)
        actual = rows[0][0] if rows and rows[0] else None
        return dg.AssetCheckResult(
            passed=result_matches(actual, check.expected),
            metadata={
                "sql": dg.MetadataValue.md(f"```sql\n{check.sql}\n```"),
                "expected": repr(check.expected),
                "actual": repr(actual),
            },
        )

    return _sql_check
