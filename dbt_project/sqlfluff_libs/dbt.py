"""Stand-ins for dbt's cross-database macros (`dbt.hash`, `dbt.concat`, `dbt.type_string`) when sqlfluff's
jinja templater renders a model: the SQL DuckDB would run, so the linter sees real SQL."""


def hash(field):  # noqa: A001  (dbt's name)
    return f"md5(cast({field} as varchar))"


def concat(fields):
    return "(" + " || ".join(fields) + ")"


def type_string():
    return "varchar"


def split_part(string_text, delimiter_text, part_number):
    return f"split_part({string_text}, {delimiter_text}, {part_number})"


def dateadd(datepart, interval, from_date_or_timestamp):
    return f"({from_date_or_timestamp} + (interval '1 {datepart}' * ({interval})))"


def type_int():
    return "integer"


def type_timestamp():
    return "timestamp"


def datediff(first_date, second_date, datepart):
    return f"date_diff('{datepart}', {first_date}, {second_date})"
