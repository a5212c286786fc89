"""What Postgres and Redshift share: a connection over the Postgres wire protocol (psycopg2) and read queries.

Connection settings come from the resource's config, the password through `dg.EnvVar`; nothing here
logs them.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
import psycopg2.extras
from pydantic import Field

from pipeline.lib.warehouse.base import Warehouse
from pipeline.lib.warehouse.statements import ledger_statements

APPLICATION_NAME = "sparkify-pipeline"


class ServerWarehouse(Warehouse):
    host: str
    port: int
    user: str
    password: str | None = Field(default=None, repr=False)  # never in a repr, a log line or an error
    database: str
    sslmode: str = "prefer"
    connect_timeout_seconds: int = 10

    @contextmanager
    def connect(self) -> Iterator["psycopg2.extensions.connection"]:
        """A connection whose transaction commits only when asked; closed on the way out."""
        connection = psycopg2.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password or None,
            dbname=self.database,
            sslmode=self.sslmode,
            connect_timeout=self.connect_timeout_seconds,
            application_name=APPLICATION_NAME,
        )
        try:
            yield connection
        finally:
            connection.close()

    def query(self, sql: str) -> list[tuple]:
        with self.connect() as connection, connection.cursor() as cursor:
            cursor.execute(sql)
            rows = cursor.fetchall()
            connection.rollback()  # read-only: leave nothing open
            return rows

    def execute(self, sql: str) -> None:
        with self.connect() as connection, connection.cursor() as cursor:
            cursor.execute(sql)
            connection.commit()


def record_ledger(connection, ledger) -> None:
    """Write a FileLedger inside the connection's open transaction (multi-row inserts: Redshift too)."""
    if ledger is None:
        return
    before, insert = ledger_statements(ledger, "%s")
    with connection.cursor() as cursor:
        for statement in before:
            cursor.execute(statement)
        if ledger.files:
            values_sql = insert.rsplit(" values ", 1)[0] + " values %s"
            psycopg2.extras.execute_values(cursor, values_sql, ledger.files, page_size=1000)


def rollback_quietly(connection) -> None:
    """Roll back after a failure; a connection the server already dropped has nothing to roll back."""
    try:
        connection.rollback()
    except psycopg2.InterfaceError:
        pass
