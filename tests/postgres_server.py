"""A throw-away PostgreSQL server for tests: its own cluster in a temporary directory, on loopback.

    with PostgresServer(tmp_path) as pg:
        db = pg.create_database("warehouse")
        psycopg2.connect(pg.dsn_for(db))

Needs the Debian `postgresql` package (tests/install_servers.sh installs it). Run as root, the
cluster belongs to the `postgres` user (PostgreSQL refuses to run as root); as any other user, it
belongs to that user. Authentication is `trust` on 127.0.0.1 only; the role still has a password,
so clients that insist on one work. Nothing here is pytest-specific.
"""

from __future__ import annotations

import atexit
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg2
from psycopg2 import sql

from tests.ports import free_port

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_SERVER_OPTIONS = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
_SOCKET_PATH_MAX = 100  # sun_path is 108 bytes; leave room for "/.s.PGSQL.NNNNN"


def find_postgres_bin() -> Path:
    """The newest /usr/lib/postgresql/<major>/bin that holds initdb."""
    candidates = [p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/initdb")]
    candidates = [p for p in candidates if p.parent.name.isdigit()]
    if not candidates:
        raise RuntimeError(
            "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin; "
            "run tests/install_servers.sh (installs Debian's `postgresql` package)"
        )
    return max(candidates, key=lambda p: int(p.parent.name))


def _proc_start_time(pid: int) -> str | None:
    """Start time (clock ticks) of a live, non-zombie process, or None: guards against PID reuse."""
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat_line[stat_line.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):  # zombie/dead: gone, just not reaped (PID 1 here may not reap)
        return None
    return fields[19]


def _children(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat_line = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat_line[stat_line.rindex(")") + 2 :].split()[1]) == pid:
                kids.append(int(entry.name))
    return kids


def make_parents_traversable(path: Path, owner: pwd.struct_passwd) -> None:
    """Grant the user search (x, not read) permission on every ancestor of ``path``."""
    uid, gid = owner.pw_uid, owner.pw_gid
    groups = {gid, *os.getgrouplist(owner.pw_name, gid)}
    for parent in path.parents:
        st = os.stat(parent)
        if st.st_uid == uid:
            bit = stat.S_IXUSR
        elif st.st_gid in groups:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not st.st_mode & bit:
            os.chmod(parent, stat.S_IMODE(st.st_mode) | bit)


class PostgresServer:
    """One PostgreSQL cluster under ``base_dir``; ``start()``/``stop()`` or use as a context manager."""

    host = "127.0.0.1"
    user = "postgres"
    password = "postgres"
    dbname = "postgres"

    def __init__(self, base_dir: Path, bin_dir: Path | None = None):
        self.base_dir = Path(base_dir)
        self.bin_dir = Path(bin_dir) if bin_dir else find_postgres_bin()
        self.port: int | None = None
        self.root: Path | None = None  # our private directory: data/, server.log, socket dir
        self.data_dir: Path | None = None
        self.log_file: Path | None = None
        self.socket_dir: Path | None = None
        self.pid: int | None = None  # the postmaster
        self._pid_start: str | None = None
        self._own_socket_dir = False
        if os.geteuid() == 0:
            try:
                self._owner = pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError("running as root but there is no `postgres` user; install postgresql") from None
        else:
            self._owner = None  # run everything as ourselves

    # ----------------------------------------------------------------- public API
    @property
    def dsn(self) -> str:
        """libpq URL of the default database."""
        return self.dsn_for(self.dbname)

    def dsn_for(self, dbname: str) -> str:
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{dbname}"

    def connect_kwargs(self, dbname: str | None = None) -> dict:
        return {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "dbname": dbname or self.dbname,
        }

    def env(self, dbname: str | None = None) -> dict[str, str]:
        """libpq environment variables that reach this server."""
        return {
            "PGHOST": self.host,
            "PGPORT": str(self.port),
            "PGUSER": self.user,
            "PGPASSWORD": self.password,
            "PGDATABASE": dbname or self.dbname,
        }

    def connect(self, dbname: str | None = None, **kwargs):
        return psycopg2.connect(**self.connect_kwargs(dbname), **kwargs)

    def create_database(self, name: str) -> str:
        if not _IDENTIFIER.match(name):
            raise ValueError(f"not a plain SQL identifier: {name!r}")
        conn = self.connect()
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        finally:
            conn.close()
        return name

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # ----------------------------------------------------------------- lifecycle
    def start(self) -> PostgresServer:
        if self.pid is not None:
            return self
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.root = Path(tempfile.mkdtemp(prefix="postgres-", dir=self.base_dir))
        atexit.register(self.stop)
        try:
            self._prepare_dirs()
            self._initdb()
            for attempt in range(3):  # the free port can be taken between probing and binding
                self.port = free_port()
                try:
                    self._pg_ctl_start()
                    break
                except RuntimeError as exc:
                    if attempt == 2 or "Address already in use" not in str(exc):
                        raise
            self._read_pid()
            self._wait_ready()
            with self.connect() as conn, conn.cursor() as cur:
                cur.execute(sql.SQL("ALTER ROLE {} PASSWORD %s").format(sql.Identifier(self.user)), (self.password,))
            conn.close()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server (immediate mode; SIGKILL if it lingers) and delete its files. Idempotent."""
        atexit.unregister(self.stop)
        if self.data_dir is not None and (self.data_dir / "postmaster.pid").exists():
            try:
                self._run(
                    [self.bin_dir / "pg_ctl", "-D", self.data_dir, "-m", "immediate", "-w", "-t", "5", "stop"],
                    timeout=15,
                )
            except (OSError, subprocess.SubprocessError):
                pass
            if self.pid is None:
                self._read_pid()
        if self.pid is not None:
            self._reap(self.pid, self._pid_start)
        self.pid = self._pid_start = None
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
        if self._own_socket_dir and self.socket_dir is not None:
            shutil.rmtree(self.socket_dir, ignore_errors=True)
        self.root = self.data_dir = self.log_file = self.socket_dir = None
        self._own_socket_dir = False

    # ----------------------------------------------------------------- internals
    def _prepare_dirs(self) -> None:
        self.data_dir = self.root / "data"
        self.log_file = self.root / "server.log"
        self.socket_dir = self.root / "sock"
        if len(str(self.socket_dir)) + len("/.s.PGSQL.65535") > _SOCKET_PATH_MAX:
            self.socket_dir = Path(tempfile.mkdtemp(prefix="pgsock-"))
            self._own_socket_dir = True
        else:
            self.socket_dir.mkdir()
        for path in (self.root, self.socket_dir):
            os.chmod(path, 0o700)
            if self._owner:
                os.chown(path, self._owner.pw_uid, self._owner.pw_gid)
        if self._owner:
            for path in (self.root, self.socket_dir):
                make_parents_traversable(path, self._owner)

    def _run(self, args, *, timeout: float, reset_signals: bool = False) -> subprocess.CompletedProcess:
        args = [str(a) for a in args]
        if reset_signals:  # the server must die on SIGINT/SIGTERM even if our parent ignores them
            args = ["env", "--default-signal=INT,TERM", *args]
        kwargs = {}
        env = {"PATH": f"{self.bin_dir}:/usr/bin:/bin", "LC_ALL": "C", "LANG": "C"}
        if self._owner:
            kwargs.update(user=self._owner.pw_uid, group=self._owner.pw_gid, extra_groups=[])
            env["HOME"] = self._owner.pw_dir
            env["USER"] = env["LOGNAME"] = self._owner.pw_name
        else:
            env["HOME"] = os.environ.get("HOME", "/")
        return subprocess.run(
            args,
            cwd=self.root,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            **kwargs,
        )

    def _initdb(self) -> None:
        result = self._run(
            [
                self.bin_dir / "initdb",
                "-D",
                self.data_dir,
                "-A",
                "trust",
                "-U",
                self.user,
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ],
            timeout=120,
        )
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed (exit {result.returncode}):\n{result.stdout}{result.stderr}")

    def _pg_ctl_start(self) -> None:
        options = f"-p {self.port} -k {self.socket_dir} -c listen_addresses={self.host} {_SERVER_OPTIONS}"
        result = self._run(
            [
                self.bin_dir / "pg_ctl",
                "-D",
                self.data_dir,
                "-l",
                self.log_file,
                "-w",
                "-t",
                "60",
                "-o",
                options,
                "start",
            ],
            timeout=90,
            reset_signals=True,
        )
        if result.returncode != 0:
            self._read_pid()
            if self.pid is not None:  # half-started: make sure nothing is left before a retry
                self._reap(self.pid, self._pid_start)
                self.pid = self._pid_start = None
            raise RuntimeError(
                f"PostgreSQL failed to start (pg_ctl exit {result.returncode}):\n"
                f"{result.stdout}{result.stderr}\n--- server log tail ---\n{self._log_tail()}"
            )

    def _read_pid(self) -> None:
        try:
            first = (self.data_dir / "postmaster.pid").read_text().splitlines()[0]
            pid = int(first)
        except (OSError, IndexError, ValueError, TypeError):
            return
        start = _proc_start_time(pid)
        if start is not None:
            self.pid, self._pid_start = pid, start

    def _wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg2.connect(**self.connect_kwargs(), connect_timeout=2).close()
                return
            except psycopg2.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"PostgreSQL not accepting connections: {exc}\n{self._log_tail()}") from exc
                time.sleep(0.05)

    def _log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except (OSError, AttributeError):
            return "(no server log)"

    @staticmethod
    def _reap(pid: int, start: str | None, grace: float = 3.0) -> None:
        """Wait for the postmaster to exit; after ``grace`` seconds SIGKILL it and its children by PID."""

        def alive(p: int, s: str | None) -> bool:
            now = _proc_start_time(p)
            return now is not None and (s is None or now == s)

        deadline = time.monotonic() + grace
        while alive(pid, start) and time.monotonic() < deadline:
            time.sleep(0.02)
        if alive(pid, start):
            kids = [(k, _proc_start_time(k)) for k in _children(pid)]
            for p in [pid, *(k for k, _ in kids)]:
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            for p, s in [(pid, start), *kids]:
                end = time.monotonic() + 2
                while alive(p, s) and time.monotonic() < end:
                    time.sleep(0.02)
