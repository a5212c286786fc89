"""Every statement the Redshift warehouse sends, built here as pure functions and tested one by one.

Identifiers pass through quote(), configured values through literal() after validation; a COPY that
carries credentials is a Statement whose str() and repr() show them as '***'.
"""

import datetime as dt
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from pipeline.lib.identifiers import quote
from pipeline.lib.warehouse import statements
from pipeline.lib.warehouse.base import JsonBatch, TableSpec

# delete_sql is shared by every warehouse; re-exported so the Redshift path's statements stay in one set.
from pipeline.lib.warehouse.statements import column_list, delete_sql, target, window  # noqa: F401
from pipeline.lib.warehouse.types import REDSHIFT_TYPES

REDACTED = "***"

_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_ACCESS_KEY_ID = re.compile(r"^\w{16,128}$")  # AWS: 16 to 128 word characters
_SESSION_NAME = re.compile(r"^[\w+=,.@-]{2,64}$")  # STS RoleSessionName
_S3_URI = re.compile(r"^s3://(?P<bucket>[^/]*)/(?P<key>.*)$", re.DOTALL)
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IP_ADDRESS = re.compile(r"^\d+\.\d+\.\d+\.\d+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def literal(value: str) -> str:
    """A single-quoted SQL string literal, embedded quotes doubled.

    Redshift reads backslashes in plain literals as escapes (its QUOTE_LITERAL doubles them), so a
    value ending in a backslash would swallow the closing quote. Nothing configured here needs one
    (URIs, ARNs, regions, AWS keys), so a backslash is refused rather than escaped. Messages never
    echo the value: it may be a secret.
    """
    if not isinstance(value, str):
        raise ValueError(f"SQL string literal must be a str, not {type(value).__name__}")
    if "\x00" in value:
        raise ValueError("SQL string literal contains a NUL character")
    if "\\" in value:
        raise ValueError("SQL string literal contains a backslash, which Redshift would read as an escape")
    return "'" + value.replace("'", "''") + "'"


def s3_uri(uri: str) -> str:
    """The URI, if it is s3://bucket/key with a valid bucket name and a non-empty, printable key."""
    match = _S3_URI.match(uri) if isinstance(uri, str) else None
    if not match:
        raise ValueError(f"invalid S3 URI {uri!r}: expected s3://bucket/key")
    bucket, key = match["bucket"], match["key"]
    if not _BUCKET.match(bucket) or ".." in bucket or _IP_ADDRESS.match(bucket):
        raise ValueError(
            f"invalid S3 URI {uri!r}: bucket {bucket!r} is not a valid bucket name "
            "(3-63 lowercase letters, digits, dots and hyphens)"
        )
    # An empty key would COPY every object of the bucket (the prefix matches all of them).
    if not key:
        raise ValueError(f"invalid S3 URI {uri!r}: the key or prefix is empty")
    if _CONTROL.search(key) or "\\" in key or len(key.encode()) > 1024:
        raise ValueError(
            f"invalid S3 URI {uri!r}: the key has control characters or backslashes, or is over 1024 bytes"
        )
    return uri


def checked_region(region: str) -> str:
    """The AWS region, if it looks like one (us-west-2, us-gov-west-1)."""
    if not isinstance(region, str) or not _REGION.match(region):
        raise ValueError(f"invalid AWS region {region!r}: expected a name like 'us-west-2'")
    return region


def checked_role_arn(arn: str) -> str:
    """The IAM role ARN, if it is one (arn:aws:iam::123456789012:role/name)."""
    if not isinstance(arn, str) or not _ROLE_ARN.match(arn):
        raise ValueError(f"invalid IAM role ARN {arn!r}: expected arn:aws:iam::<12-digit account>:role/<name>")
    return arn


@dataclass(frozen=True)
class Statement:
    """SQL to send, and the same text with every secret replaced by '***': the only form logged."""

    sql: str
    redacted: str

    def __str__(self) -> str:
        return self.redacted

    def __repr__(self) -> str:
        return f"Statement({self.redacted!r})"


def _check_secret(value: str, what: str) -> None:
    # Whitespace usually means a value pasted with its newline; never echo the value in the message.
    if not isinstance(value, str) or not value or re.search(r"[\s\x00-\x1f\x7f\\]", value):
        raise ValueError(
            f"invalid {what}: it must be a non-empty string without whitespace, control characters or backslashes"
        )


@dataclass(frozen=True)
class CopyAuth:
    """How COPY reaches S3: an IAM role ARN attached to the cluster, or AWS keys (temporary ones from STS).

    Long-term keys (no session token) are accepted because Redshift accepts them, but an attached
    role or `from_assumed_role` is preferred. repr() never shows the keys.
    """

    iam_role: str | None = None
    access_key_id: str | None = field(default=None, repr=False)
    secret_access_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)
    expiration: dt.datetime | None = None  # when temporary keys expire, so a caller can renew them

    def __post_init__(self):
        keys = (self.access_key_id, self.secret_access_key, self.session_token)
        if self.iam_role is not None:
            if any(k is not None for k in keys) or self.expiration is not None:
                raise ValueError("CopyAuth takes either an IAM role or access keys, not both")
            checked_role_arn(self.iam_role)
            return
        if self.access_key_id is None or self.secret_access_key is None:
            raise ValueError("CopyAuth needs an IAM role ARN, or an access key id and a secret access key")
        if not isinstance(self.access_key_id, str) or not _ACCESS_KEY_ID.match(self.access_key_id):
            raise ValueError("invalid access key id: expected 16 to 128 letters or digits")
        _check_secret(self.secret_access_key, "secret access key")
        if self.session_token is not None:
            _check_secret(self.session_token, "session token")

    def __repr__(self) -> str:
        if self.iam_role is not None:
            return f"CopyAuth(iam_role={self.iam_role!r})"
        token = ", session_token='***'" if self.session_token else ""
        return f"CopyAuth(access_key_id='***', secret_access_key='***'{token}, expiration={self.expiration!r})"

    @property
    def secrets(self) -> tuple[str, ...]:
        """The values that must never be logged (a role ARN is not one: it names, it does not grant)."""
        return tuple(v for v in (self.access_key_id, self.secret_access_key, self.session_token) if v)

    def clause(self, redact: bool = False) -> str:
        """The COPY authorization parameters; with redact, every key shown as '***'."""
        if self.iam_role is not None:
            return f"iam_role {literal(self.iam_role)}"

        def value(v: str) -> str:
            return literal(REDACTED) if redact else literal(v)

        parts = [f"access_key_id {value(self.access_key_id)}", f"secret_access_key {value(self.secret_access_key)}"]
        if self.session_token:
            parts.append(f"session_token {value(self.session_token)}")
        return " ".join(parts)

    @classmethod
    def from_assumed_role(
        cls, sts_client, role_arn: str, session_name: str = "sparkify-copy", duration_seconds: int = 3600
    ) -> "CopyAuth":
        """Temporary keys from STS AssumeRole, for clusters without the role attached (the original backlog's ask)."""
        checked_role_arn(role_arn)
        if not isinstance(session_name, str) or not _SESSION_NAME.match(session_name):
            raise ValueError(f"invalid STS session name {session_name!r}: 2 to 64 of letters, digits and +=,.@_-")
        if not 900 <= int(duration_seconds) <= 43200:
            raise ValueError(f"duration_seconds {duration_seconds} is outside STS's 900 to 43200")
        response = sts_client.assume_role(
            RoleArn=role_arn, RoleSessionName=session_name, DurationSeconds=int(duration_seconds)
        )
        credentials = response["Credentials"]
        return cls(
            access_key_id=credentials["AccessKeyId"],
            secret_access_key=credentials["SecretAccessKey"],
            session_token=credentials["SessionToken"],
            expiration=credentials.get("Expiration"),
        )


def create_table_sql(table: TableSpec) -> list[str]:
    return statements.create_table_sql(table, REDSHIFT_TYPES)


def create_scratch_sql(table: TableSpec, scratch: str) -> str:
    """A session-local copy of the target's columns that COPY fills before anything is replaced."""
    return f"create temp table {quote(scratch)} (like {target(table)})"


def manifest_json(uris: Sequence[str], sizes: Sequence[int] | None = None) -> str:
    """A COPY manifest naming exactly these objects, each mandatory: COPY fails if one is missing, and reads
    nothing else (a prefix would also take a stray `x.json.bak`, or a file that landed after the listing).
    A Parquet COPY needs each object's size too (`meta.content_length`)."""
    if not uris:
        raise ValueError("a COPY manifest needs at least one object")
    entries = [{"url": s3_uri(uri), "mandatory": True} for uri in uris]
    if sizes is not None:
        for entry, size in zip(entries, sizes, strict=True):
            entry["meta"] = {"content_length": int(size)}
    return json.dumps({"entries": entries}, indent=1)


def copy_parquet_sql(into: str, manifest: str, auth: CopyAuth) -> Statement:
    """COPY the Parquet files the manifest at `manifest` lists into the scratch table `into`.

    Redshift maps a Parquet file's columns to the table's by position (the files hold the table's columns in
    order) and takes few options from columnar files: no column list, REGION (the bucket must be in the
    cluster's region) or MAXERROR (any bad value fails the COPY)."""
    if not isinstance(auth, CopyAuth):
        raise ValueError("auth must be a CopyAuth")
    head = f"copy {quote(into)} from {literal(s3_uri(manifest))}"
    tail = " manifest format as parquet"
    sql = f"{head} {auth.clause()}{tail}"
    redacted = f"{head} {auth.clause(redact=True)}{tail}"
    for secret in auth.secrets:
        redacted = redacted.replace(secret, REDACTED)
    return Statement(sql, redacted)


def copy_json_sql(
    table: TableSpec,
    into: str | None,
    source: str,
    json_format: str,
    auth: CopyAuth,
    region: str | None = None,
    manifest: bool = False,
) -> Statement:
    """COPY JSON objects under `source` (or, with `manifest`, those the manifest at `source` lists) into `into`
    (a scratch table) or else the table itself.

    json_format is 'auto' (keys match column names) or the s3:// URI of a JSONPaths file (one path per
    column, in table order). No option alters a value: staging keeps raw values, so an invalid UTF-8
    byte (ACCEPTINVCHARS) or an over-long string (TRUNCATECOLUMNS) fails the load instead of being
    rewritten, "" stays "" (no EMPTYASNULL/BLANKSASNULL) and ts stays a bigint (no TIMEFORMAT).
    MAXERROR 0 (the default, said aloud) keeps a bad line from being skipped silently.
    """
    if not isinstance(auth, CopyAuth):
        raise ValueError("auth must be a CopyAuth")
    if json_format == "auto":
        json_clause = literal("auto")
    elif isinstance(json_format, str) and json_format.startswith("s3://"):
        json_clause = literal(s3_uri(json_format))
    else:
        raise ValueError(f"json_format must be 'auto' or the s3:// URI of a JSONPaths file, not {json_format!r}")
    destination = quote(into) if into is not None else target(table)
    head = f"copy {destination} ({column_list(table)}) from {literal(s3_uri(source))}"
    # The region is needed when the bucket is not in the cluster's region.
    where = f" region {literal(checked_region(region))}" if region is not None else ""
    # The scratch table lives for one load: compression analysis and statistics would be wasted work.
    listed = " manifest" if manifest else ""
    tail = f"{where}{listed} format as json {json_clause} maxerror 0 compupdate off statupdate off"
    sql = f"{head} {auth.clause()}{tail}"
    redacted = f"{head} {auth.clause(redact=True)}{tail}"
    for secret in auth.secrets:  # belt and braces: a secret repeated elsewhere is masked too
        redacted = redacted.replace(secret, REDACTED)
    return Statement(sql, redacted)


def read_columns(table: TableSpec, added_fields: Sequence[tuple[str, int | str]]) -> TableSpec:
    """The table as COPY fills it: without the columns a batch adds (JsonBatch.added_fields), set after the COPY."""
    added = {source for source, _ in added_fields}
    return TableSpec(table.schema, table.name, tuple(c for c in table.columns if c.source not in added))


def set_added_fields_sql(table: TableSpec, scratch: str, batch: JsonBatch) -> str:
    """Give every row COPY loaded into the scratch table the batch's added fields (an hour, a source key)."""
    assignments = [
        f"{quote(column.name)} = {literal(value) if column.type == 'text' else int(value)}"
        for column, value in batch.added_columns(table)
    ]
    return f"update {quote(scratch)} set {', '.join(assignments)}"


def window_violations_sql(scratch: str, column: str, low: int, high: int) -> str:
    """The number of loaded rows whose window column is null or outside [low, high): must be 0."""
    low, high = window(low, high)
    c = quote(column)
    return f"select count(*) from {quote(scratch)} where {c} is null or {c} < {low} or {c} >= {high}"


def insert_from_scratch_sql(table: TableSpec, scratch: str) -> str:
    columns = column_list(table)
    return f"insert into {target(table)} ({columns}) select {columns} from {quote(scratch)}"


def count_sql(scratch: str) -> str:
    return f"select count(*) from {quote(scratch)}"


def drop_scratch_sql(scratch: str) -> str:
    return f"drop table if exists {quote(scratch)}"


# Why the last COPY of this session failed. Run after the rollback: pg_last_copy_id() keeps the failed
# COPY's id. Redshift pads char columns, hence trim(). sys_load_error_detail has no raw_line column.
LOAD_ERRORS_SQL = (
    "select trim(file_name), line_number, trim(column_name), trim(error_message) "
    "from sys_load_error_detail where query_id = pg_last_copy_id() order by line_number limit 10"
)
# The same from stl_load_errors, for provisioned clusters; it also holds the raw line.
LEGACY_LOAD_ERRORS_SQL = (
    "select trim(filename), line_number, trim(colname), trim(err_reason), left(trim(raw_line), 200) "
    "from stl_load_errors where query = pg_last_copy_id() order by line_number limit 10"
)


def _text(value) -> str:
    return "" if value is None else str(value).strip()


def describe_load_errors(rows: Sequence[tuple]) -> str:
    """Rows of either load-error query as one message; "" when there are none (the COPY failed before loading).

    Each row is (file, line, column, reason) with an optional raw line: "s3://b/k.json, line 12, column
    ts: Invalid digit, Value 's', ... (raw line: ...)"; rows are joined with "; ".
    """
    described = []
    for row in rows:
        file, line, column, reason = (_text(v) for v in row[:4])
        raw = _text(row[4]) if len(row) > 4 else ""
        text = file or "unknown file"
        if line:
            text += f", line {line}"
        if column:
            text += f", column {column}"
        text += f": {reason or 'unknown reason'}"
        if raw:
            text += f" (raw line: {raw})"
        described.append(text)
    return "; ".join(described)
