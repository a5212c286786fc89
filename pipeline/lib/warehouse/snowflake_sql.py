"""Every statement the Snowflake warehouse sends, built here as pure functions and tested one by one.

Identifiers are validated and quoted in upper case: that is how Snowflake stores unquoted names, so the
tables written here are the ones dbt's unquoted `staging.staging_events` finds. Configured values pass
through literal() after validation; a statement that carries credentials is a Statement whose str() and
repr() show them as '***'.
"""

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from pipeline.lib.identifiers import checked_identifier
from pipeline.lib.warehouse.base import JsonBatch, TableSpec
from pipeline.lib.warehouse.redshift_sql import REDACTED, Statement, _check_secret, literal, s3_uri
from pipeline.lib.warehouse.statements import window
from pipeline.lib.warehouse.types import SNOWFLAKE_TYPES

# The scratch table's columns: the whole JSON object, and where it came from (for messages).
RECORD, FILE_NAME, FILE_ROW = "RECORD", "FILE_NAME", "FILE_ROW"
# Snowflake refuses a FILES list longer than this in one COPY.
MAX_FILES_PER_COPY = 1000

_ACCESS_KEY_ID = re.compile(r"^\w{16,128}$")


def quote(name: str) -> str:
    """A validated identifier, upper-cased and double-quoted: the name Snowflake gives it unquoted."""
    return '"' + checked_identifier(name).upper() + '"'


def target(table: TableSpec) -> str:
    return f"{quote(table.schema)}.{quote(table.name)}"


def column_list(table: TableSpec) -> str:
    return ", ".join(quote(c.name) for c in table.columns)


def stage_name(lake_uri: str) -> str:
    """The stage over one lake root: named after its URI, so a moved lake gets a stage of its own.

    `create stage if not exists` never changes an existing stage's URL; a name per URI means a stage
    can never point at a lake other than the one it is named for.
    """
    root = s3_uri(lake_uri.rstrip("/") + "/")
    return "LAKE_" + hashlib.sha256(root.encode()).hexdigest()[:12].upper()


FILE_FORMAT = "LAKE_JSON"


@dataclass(frozen=True)
class StageAuth:
    """How the stage reaches S3: a storage integration (production) or AWS keys (the lesser option).

    Keys in a stage definition are stored by Snowflake and must be rotated by hand; an integration
    delegates to an IAM role Snowflake assumes. repr() never shows the keys.
    """

    storage_integration: str | None = None
    access_key_id: str | None = field(default=None, repr=False)
    secret_access_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)

    def __post_init__(self):
        keys = (self.access_key_id, self.secret_access_key, self.session_token)
        if self.storage_integration is not None:
            if any(k is not None for k in keys):
                raise ValueError("StageAuth takes either a storage integration or AWS keys, not both")
            checked_identifier(self.storage_integration, "storage integration name")
            return
        if self.access_key_id is None or self.secret_access_key is None:
            raise ValueError(
                "a Snowflake stage needs SNOWFLAKE_STORAGE_INTEGRATION, or SNOWFLAKE_STAGE_AWS_KEY_ID and "
                "SNOWFLAKE_STAGE_AWS_SECRET_KEY"
            )
        if not isinstance(self.access_key_id, str) or not _ACCESS_KEY_ID.match(self.access_key_id):
            raise ValueError("invalid access key id: expected 16 to 128 letters or digits")
        _check_secret(self.secret_access_key, "secret access key")
        if self.session_token is not None:
            _check_secret(self.session_token, "session token")

    def __repr__(self) -> str:
        if self.storage_integration is not None:
            return f"StageAuth(storage_integration={self.storage_integration!r})"
        return "StageAuth(access_key_id='***', secret_access_key='***')"

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(v for v in (self.access_key_id, self.secret_access_key, self.session_token) if v)

    def clause(self, redact: bool = False) -> str:
        if self.storage_integration is not None:
            return f"storage_integration = {quote(self.storage_integration)}"

        def value(v: str) -> str:
            return literal(REDACTED) if redact else literal(v)

        parts = [f"aws_key_id = {value(self.access_key_id)}", f"aws_secret_key = {value(self.secret_access_key)}"]
        if self.session_token:
            parts.append(f"aws_token = {value(self.session_token)}")
        return f"credentials = ({' '.join(parts)})"


def create_file_format_sql(schema: str) -> str:
    """JSON as the contract reads it: invalid UTF-8 fails the load, a byte-order mark is skipped, nulls kept."""
    return (
        f"create file format if not exists {quote(schema)}.{quote(FILE_FORMAT)} type = json "
        "strip_outer_array = false strip_null_values = false ignore_utf8_errors = false skip_byte_order_mark = true "
        "allow_duplicate = false"
    )


def create_stage_sql(schema: str, lake_uri: str, auth: StageAuth) -> Statement:
    """The external stage on the lake's root (a prefix ending in '/'), if missing."""
    if not isinstance(auth, StageAuth):
        raise ValueError("auth must be a StageAuth")
    url = s3_uri(lake_uri.rstrip("/") + "/")
    head = f"create stage if not exists {quote(schema)}.{quote(stage_name(lake_uri))} url = {literal(url)}"
    tail = f" file_format = (format_name = {quote(schema)}.{quote(FILE_FORMAT)})"
    sql = f"{head} {auth.clause()}{tail}"
    redacted = f"{head} {auth.clause(redact=True)}{tail}"
    for secret in auth.secrets:
        redacted = redacted.replace(secret, REDACTED)
    return Statement(sql, redacted)


def _column_definitions(table: TableSpec) -> str:
    return ", ".join(f"{quote(c.name)} {SNOWFLAKE_TYPES[c.type]}" for c in table.columns)


def create_table_sql(table: TableSpec) -> list[str]:
    columns = _column_definitions(table)
    return [
        f"create schema if not exists {quote(table.schema)}",
        f"create table if not exists {target(table)} ({columns})",
    ]


def use_schema_sql(schema: str) -> str:
    """Temporary tables live in the session's current schema; the loads make it the target's."""
    return f"use schema {quote(schema)}"


def create_scratch_sql(scratch: str) -> str:
    """A session-temporary table for one batch's objects as COPY reads them, with their file and row."""
    return (
        f"create or replace temporary table {quote(scratch)} ({RECORD} variant, {FILE_NAME} varchar, {FILE_ROW} bigint)"
    )


def stage_path(key: str) -> str:
    """A lake key as a FILES entry (relative to the stage's URL): printable, no quote or backslash."""
    if not isinstance(key, str) or not key or key.startswith("/") or re.search(r"[\x00-\x1f\x7f'\\]", key):
        raise ValueError(f"lake key {key!r} cannot be named in a COPY's FILES list")
    return key


def _stage_and_files(schema: str, lake_uri: str, keys: Sequence[str]) -> tuple[str, str]:
    """The lake's stage and a COPY's FILES list of exactly these keys."""
    if not keys:
        raise ValueError("a COPY needs at least one file")
    if len(keys) > MAX_FILES_PER_COPY:
        raise ValueError(f"{len(keys)} files: Snowflake takes at most {MAX_FILES_PER_COPY} in one FILES list")
    return f"@{quote(schema)}.{quote(stage_name(lake_uri))}", ", ".join(literal(stage_path(k)) for k in keys)


def copy_into_scratch_sql(scratch: str, schema: str, lake_uri: str, keys: Sequence[str]) -> str:
    """COPY exactly these files (never a prefix or pattern) into the scratch table, aborting on any error.

    FORCE = TRUE: a re-run must load a file again even if Snowflake's load history says it was loaded.
    The stage's URL is the lake root, so FILES are lake keys.
    """
    stage, files = _stage_and_files(schema, lake_uri, keys)
    return (
        f"copy into {quote(scratch)} ({RECORD}, {FILE_NAME}, {FILE_ROW}) "
        f"from (select $1, metadata$filename, metadata$file_row_number from {stage}) "
        f"files = ({files}) file_format = (format_name = {quote(schema)}.{quote(FILE_FORMAT)}) "
        "on_error = abort_statement force = true"
    )


def create_typed_scratch_sql(table: TableSpec, scratch: str) -> str:
    """A session-temporary table with the target's columns and types, for one Parquet batch."""
    return f"create or replace temporary table {quote(scratch)} ({_column_definitions(table)})"


def copy_parquet_sql(scratch: str, schema: str, lake_uri: str, keys: Sequence[str]) -> str:
    """COPY exactly these Parquet files into the typed scratch table, columns matched by name, aborting on any
    error; FORCE as copy_into_scratch_sql. Parquet's types come with the file: nothing is parsed from text."""
    stage, files = _stage_and_files(schema, lake_uri, keys)
    return (
        f"copy into {quote(scratch)} from {stage} files = ({files}) file_format = (type = parquet) "
        "match_by_column_name = case_insensitive on_error = abort_statement force = true"
    )


def insert_typed_scratch_sql(table: TableSpec, scratch: str) -> str:
    columns = column_list(table)
    return f"insert into {target(table)} ({columns}) select {columns} from {quote(scratch)}"


def field(source: str) -> str:
    """The object's field, by its exact (case-sensitive) JSON name."""
    if not isinstance(source, str) or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", source):
        raise ValueError(f"JSON field name {source!r} is not a plain name")
    return f'{RECORD}:"{source}"'


def _checked_columns(table: TableSpec, batch: JsonBatch) -> list[int]:
    """Indexes of the columns the contract check reads: every number, and the window column; not the
    batch's added fields, whose values are literals checked before any SQL (JsonBatch.added_columns)."""
    added = {column.name for column, _ in batch.added_columns(table)}
    return [
        i
        for i, c in enumerate(table.columns)
        if (c.type != "text" or c.name == batch.window_column) and c.name not in added
    ]


def _problems(table: TableSpec, batch: JsonBatch) -> list[tuple[str, str, str]]:
    """(field, condition that breaks the contract, problem) for every check, in column order.

    Conditions read T<i> (the field as text) and N<i> (the field as a number, null if it is none) of the
    check's `parsed` rows, so each field is parsed once.
    """
    checks = []
    for i in _checked_columns(table, batch):
        column = table.columns[i]
        text, number = f"T{i}", f"N{i}"
        if column.type != "text":
            checks.append((column.source, f"{text} is not null and {number} is null", f"expected {column.type}"))
            checks.append(
                (
                    column.source,
                    f"{number} in ('NaN'::double, 'inf'::double, '-inf'::double)",
                    "expected a finite number",
                )
            )
            if column.type in ("integer", "bigint"):
                checks.append((column.source, f"{number} <> floor({number})", "expected a whole number"))
            if column.type == "integer":
                checks.append(
                    (
                        column.source,
                        f"({number} < -2147483648 or {number} >= 2147483648)",
                        "out of range for an integer",
                    )
                )
        if column.name == batch.window_column:
            low, high = window(batch.low, batch.high)
            checks.append(
                (
                    column.source,
                    f"({number} is null or {number} < {low} or {number} >= {high})",
                    f"not in {batch.label or f'[{low}, {high})'}",
                )
            )
    return checks


def first_break_sql(scratch: str, table: TableSpec, batch: JsonBatch) -> str:
    """The window check: the first scratch row (by file, row) that breaks the table's contract or lies
    outside the batch's window, as (file, row, field, problem); no row when there is none.

    Snowflake's casts round 1.5 to an integer and read "12" as a number; the checks refuse what the
    Python reader refuses (json_records.py) so every warehouse loads the same rows or fails.
    """
    checks = _problems(table, batch)
    if not checks:
        return f"select {FILE_NAME}, {FILE_ROW}, null, null from {quote(scratch)} where false"
    texts = {i: f"{field(table.columns[i].source)}::varchar" for i in _checked_columns(table, batch)}
    parsed = ", ".join(f"{text} as T{i}, try_to_double({text}) as N{i}" for i, text in texts.items())
    fields = " ".join(f"when {cond} then {literal(src)}" for src, cond, _ in checks)
    problems = " ".join(f"when {cond} then {literal(problem)}" for _, cond, problem in checks)
    return (
        f"with parsed as (select {FILE_NAME}, {FILE_ROW}, {parsed} from {quote(scratch)}), "
        f"checked as (select {FILE_NAME}, {FILE_ROW}, case {fields} end as FIELD, case {problems} end as PROBLEM "
        "from parsed) "
        f"select {FILE_NAME}, {FILE_ROW}, FIELD, PROBLEM from checked where FIELD is not null "
        f"order by {FILE_NAME}, {FILE_ROW} limit 1"
    )


def typed_value(source: str, logical_type: str) -> str:
    return f"{field(source)}::{SNOWFLAKE_TYPES[logical_type]}"


def insert_from_scratch_sql(table: TableSpec, scratch: str, batch: JsonBatch) -> str:
    """The typed columns from the variant: `RECORD:"userId"::varchar`, ... (an object as its JSON text), and
    the batch's added fields as typed literals."""
    added = {column.name: value for column, value in batch.added_columns(table)}
    values = ", ".join(
        (f"{literal(added[c.name]) if c.type == 'text' else int(added[c.name])}::{SNOWFLAKE_TYPES[c.type]}")
        if c.name in added
        else typed_value(c.source, c.type)
        for c in table.columns
    )
    return f"insert into {target(table)} ({column_list(table)}) select {values} from {quote(scratch)}"


def delete_sql(
    table: TableSpec, window_column: str | None = None, low: int | None = None, high: int | None = None
) -> str:
    """The rows a batch replaces: those in the window, or all of them (DELETE, so a rollback restores them)."""
    if window_column is None:
        return f"delete from {target(table)}"
    if window_column not in {c.name for c in table.columns}:
        raise ValueError(f"window column {window_column!r} is not a column of {table.qualified}")
    low, high = window(low, high)
    c = quote(window_column)
    return f"delete from {target(table)} where {c} >= {low} and {c} < {high}"


def count_sql(scratch: str) -> str:
    return f"select count(*) from {quote(scratch)}"


def drop_scratch_sql(scratch: str) -> str:
    return f"drop table if exists {quote(scratch)}"


def table_exists_sql(table: TableSpec) -> str:
    return (
        "select count(*) from information_schema.tables "
        f"where table_schema = {literal(checked_identifier(table.schema).upper())} "
        f"and table_name = {literal(checked_identifier(table.name).upper())}"
    )


def ledger_sql(ledger) -> tuple[list[str], str]:
    """(statements before the insert, the insert with pyformat placeholders) that record a FileLedger."""
    before = [f"delete from {target(ledger.table)}"] if ledger.replace else []
    if not ledger.replace and ledger.files:
        keys = ", ".join(literal(key) for key, _ in ledger.files)
        before.append(f"delete from {target(ledger.table)} where {quote('key')} in ({keys})")
    return before, f"insert into {target(ledger.table)} ({column_list(ledger.table)}) values (%s, %s)"
