"""Which faults are transient: the allow-list a step is retried for. Everything else fails at once.

A fault is transient when it, or an exception it was raised from, is one of: a lost or refused network
connection or a timeout; S3 (botocore) throttling or a 5xx; a warehouse connection lost or refused, or a
conflict a retry resolves (SQLSTATE class 08, 57P01-57P03, 53300, 40001, 40P01) or a Snowflake connector
connection error (SNOWFLAKE_CONNECTION_ERRNOS); a Google API's 429 or 5xx, or BigQuery's own rate-limit and
backend errors (BIGQUERY_TRANSIENT_REASONS); DuckDB's HTTP errors
reading the lake; or a `TransientFault` raised by code that knows, or of a subclass a pipeline defines for its
own sources' faults (an API that keeps answering 429), never a catch-all.

A warehouse client's faults are recognised only when its library is loaded: a fault cannot come from a client
never imported, and the code location must not pay for importing every warehouse's client.
"""

import sys

import botocore.exceptions
import duckdb

# S3 error codes that mean "try again": throttling and the service's own failures.
S3_TRANSIENT_CODES = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "RequestTimeout",
        "RequestTimeoutException",
        "InternalError",
        "ServiceUnavailable",
    }
)
# SQLSTATEs of a connection lost or refused (class 08), a server shutting down or starting (57P01-57P03),
# too many connections (53300), and the conflicts Postgres and Redshift ask the client to retry.
SQLSTATE_CLASSES = ("08",)
SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300", "40001", "40P01"})
# Words of DuckDB's IOException when a remote read failed (an S3 GET cut off or refused), not a local file.
DUCKDB_REMOTE_IO = ("http", "connection", "timed out", "timeout")
# BigQuery's error reasons that its documentation says to retry (a 403 rateLimitExceeded among them).
BIGQUERY_TRANSIENT_REASONS = frozenset({"rateLimitExceeded", "backendError", "internalError", "jobBackendError"})
# The Snowflake connector's own error numbers for a connection that failed, closed, timed out or could not
# be renewed (snowflake.connector.errorcode): a bad password or SQL error has other numbers and is not retried.
SNOWFLAKE_CONNECTION_ERRNOS = frozenset({250001, 250002, 250003, 250005, 251011, 251012, 252007})


class TransientFault(Exception):
    """Raised by code that recognises a transient fault another library reports without a type of its own
    (dbt's message about a lost connection, say); a pipeline subclasses it for its own sources' faults."""


def _http_status_transient(status: int | None) -> bool:
    return status is not None and (status == 429 or status >= 500)


def _is_transient_itself(fault: BaseException) -> bool:
    if isinstance(fault, (TransientFault, ConnectionError, TimeoutError)):
        return True
    if isinstance(fault, (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError)):
        return True
    if isinstance(fault, botocore.exceptions.ClientError):
        error = fault.response.get("Error", {})
        status = fault.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return error.get("Code") in S3_TRANSIENT_CODES or _http_status_transient(status)
    psycopg2 = sys.modules.get("psycopg2")
    if psycopg2 and isinstance(fault, (psycopg2.OperationalError, psycopg2.InterfaceError)):
        code = fault.pgcode
        # No SQLSTATE at all: the connection went before the server could answer.
        return code is None or code.startswith(SQLSTATE_CLASSES) or code in SQLSTATES
    snowflake = sys.modules.get("snowflake.connector.errors")
    if snowflake and isinstance(fault, snowflake.Error) and not isinstance(fault, snowflake.ProgrammingError):
        return fault.errno in SNOWFLAKE_CONNECTION_ERRNOS
    google_api = sys.modules.get("google.api_core.exceptions")
    if google_api and isinstance(fault, google_api.GoogleAPICallError):
        reasons = {error.get("reason") for error in fault.errors if isinstance(error, dict)}
        return _http_status_transient(fault.code) or bool(reasons & BIGQUERY_TRANSIENT_REASONS)
    google_auth = sys.modules.get("google.auth.exceptions")
    if google_auth and isinstance(fault, google_auth.TransportError):  # the token endpoint could not be reached
        return True
    if isinstance(fault, duckdb.HTTPException):
        return _http_status_transient(getattr(fault, "status_code", None) or 500)
    if isinstance(fault, duckdb.IOException):
        return any(word in str(fault).lower() for word in DUCKDB_REMOTE_IO)
    return False


def is_transient(fault: BaseException) -> bool:
    """Whether the fault, or one it was raised from or during, is on the allow-list."""
    seen = set()
    while fault is not None and id(fault) not in seen:
        seen.add(id(fault))
        if _is_transient_itself(fault):
            return True
        fault = fault.__cause__ or fault.__context__
    return False
