"""The demo API (pipeline/defs/weather/demo_api.py) as its own process on a loopback port, as a user runs it:
started with default signal handling, stopped by its PID. Faults are injected and requests read over HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.ports import free_port

REPO = Path(__file__).resolve().parents[2]


class ApiServer:
    def __init__(self, rate: float = 5.0):
        self.port, self.rate = free_port(), rate
        self.url = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen | None = None

    def urls(self) -> dict[str, str]:
        return {
            "CITIES_API_URL": f"{self.url}/cities",
            "WEATHER_API_URL": f"{self.url}/weather/current.json",
            "COCKTAILS_API_URL": f"{self.url}/cocktails/latest.php",
        }

    def start(self) -> ApiServer:
        command = [
            sys.executable,
            "-m",
            "pipeline.defs.weather.demo_api",
            "--port",
            str(self.port),
            "--rate",
            str(self.rate),
        ]
        self._process = subprocess.Popen(
            ["env", "--default-signal=INT,TERM", *command], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                self.requests()
                return self
            except OSError:
                if self._process.poll() is not None:
                    raise RuntimeError(f"the demo API exited: {self._process.stderr.read().decode()}") from None
                time.sleep(0.1)
        raise RuntimeError("the demo API did not answer within 30 s")

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            os.kill(self._process.pid, signal.SIGTERM)
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self._process.pid, signal.SIGKILL)
                self._process.wait()

    def _post(self, path: str, payload: dict) -> None:
        request = urllib.request.Request(f"{self.url}{path}", json.dumps(payload).encode(), method="POST")
        urllib.request.urlopen(request, timeout=10).read()

    def reset(self, rate: float | None = None) -> None:
        self._post("/_reset", {"rate": rate or self.rate})

    def fault(self, **fault) -> None:
        """e.g. fault(path="/weather", status=429, times=2, retry_after=0); times=-1 for every request."""
        self._post("/_faults", fault)

    def requests(self) -> list[tuple[float, str, int]]:
        with urllib.request.urlopen(f"{self.url}/_requests", timeout=10) as answer:
            return [tuple(r) for r in json.load(answer)]

    def get(self, path: str) -> object:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=10) as answer:
            return json.load(answer)
