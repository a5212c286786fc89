"""The throw-away PostgreSQL server of tests/postgres_server.py starts, serves SQL over TCP and stops cleanly."""

import socket
from pathlib import Path

import psycopg2

from tests.postgres_server import PostgresServer


def test_postgres_server_round_trip(tmp_path):
    with PostgresServer(tmp_path) as pg:
        port, pid, root = pg.port, pg.pid, pg.root
        assert pid and Path(f"/proc/{pid}").exists()

        db = pg.create_database("sparkify_test")
        assert pg.env(db)["PGDATABASE"] == db and pg.env()["PGPORT"] == str(port)
        with psycopg2.connect(pg.dsn_for(db)) as conn, conn.cursor() as cur:
            cur.execute("create table t(x int)")
            cur.execute("insert into t values (1), (2), (3)")
            cur.execute("select x from t order by x")
            assert cur.fetchall() == [(1,), (2,), (3,)]
            cur.execute("select version()")
            assert cur.fetchone()[0].startswith("PostgreSQL")
        conn.close()

    with socket.socket() as s:
        s.settimeout(1)
        assert s.connect_ex(("127.0.0.1", port)) != 0, "server port still accepts connections"
    stat = Path(f"/proc/{pid}/stat")
    assert not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X"), "postmaster still running"
    assert not root.exists()
    pg.stop()  # a second stop is harmless
