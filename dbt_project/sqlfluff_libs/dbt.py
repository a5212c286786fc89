"""Stand-ins for dbt's cross-database macros (`dbt.hash`, `dbt.concat`, `dbt.type_string`) when sqlfluff's
jinja templater renders a model: the SQL DuckDB would run, so the linter sees real SQL."""


def hash(field):  # noqa: A001  (dbt's name)
    return f"md5(cast({field} as varchar))"


def concat(fields):
    return "(" + " || ".join(fields) + ")"


def type_string():
    return "varchar"
