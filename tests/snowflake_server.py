"""A throw-away fakesnow server (Snowflake's wire protocol over HTTP, DuckDB underneath) on loopback, for tests.

fakesnow lives in its own virtualenv (tests/install_servers.sh builds .local/doubles/fakesnow): it pins an
older sqlglot than dagster-dbt, so it is started as a process, never imported. Nothing here is pytest-specific.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from tests.ports import free_port

FAKESNOW = Path(__file__).resolve().parents[1] / ".local" / "doubles" / "fakesnow" / "bin" / "fakesnow"


class FakesnowServer:
    """`fakesnow -s` on 127.0.0.1; `start()`/`stop()` or use as a context manager. Stopped by its own PID."""

    host = "127.0.0.1"
    account = "fakesnow"  # fakesnow takes any account, user and password

    def __init__(self, log_dir: Path):
        self.log_path = Path(log_dir) / "fakesnow.log"
        self.port: int | None = None
        self.process: subprocess.Popen | None = None

    def connection_args(self) -> dict:
        """What SnowflakeResource's additional_snowflake_connection_args needs to reach this server."""
        return {"host": self.host, "port": self.port, "protocol": "http"}

    def env(self) -> dict[str, str]:
        """The variables dbt's `snowflake` target reads to reach this server."""
        return {"SNOWFLAKE_HOST": self.host, "SNOWFLAKE_PORT": str(self.port), "SNOWFLAKE_PROTOCOL": "http"}

    def __enter__(self) -> FakesnowServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> FakesnowServer:
        if not FAKESNOW.exists():
            raise RuntimeError(f"{FAKESNOW} is missing: run tests/install_servers.sh")
        self.port = free_port()
        log = self.log_path.open("wb")
        # env --default-signal: the server must die on SIGTERM even if our parent ignores it.
        self.process = subprocess.Popen(
            ["env", "--default-signal=INT,TERM", str(FAKESNOW), "-s", "-p", str(self.port), "--host", self.host],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        log.close()
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"fakesnow exited ({self.process.returncode}):\n{self.log_path.read_text()}")
            try:
                socket.create_connection((self.host, self.port), timeout=0.5).close()
                return self
            except OSError as exc:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"fakesnow did not listen on {self.port}:\n{self.log_path.read_text()}") from exc
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None
