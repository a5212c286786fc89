"""Stand-in for dbt's `adapter` when sqlfluff renders a model: identifiers quoted as DuckDB quotes them."""


def quote(identifier):
    return f'"{identifier}"'
