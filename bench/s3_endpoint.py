"""An S3 endpoint on loopback for the benchmark: moto's server in a process of its own, objects preloaded.

Its own process, so the endpoint's CPU is not shared with the client being measured (one GIL each).
Objects go straight into moto's store before it serves (HTTP puts of 100k objects would take minutes).
On loopback a request costs only the endpoint's CPU; `--latency-ms` makes each one wait as S3's do
across a network (tens of milliseconds for a small object), which is what a sequential loop pays for.
moto comes with the development dependencies (`make demo` installs them).
"""

import argparse
import contextlib
import datetime as dt
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

BUCKET = "sparkify-bench"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def s3_endpoint(args: list[str], log: Path) -> Iterator[str]:
    """Start the endpoint with these loading options (its output in `log`); yields its URL; stops it by PID."""
    port = _free_port()
    with open(log, "w") as errors:
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.s3_endpoint", "--port", str(port), *args],
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            env={**os.environ, **CREDENTIALS},
        )
    try:
        line = process.stdout.readline()
        if not line.startswith("ready"):
            raise RuntimeError(f"the S3 endpoint did not start: {line}{log.read_text()[-2000:]}")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _with_latency(app, seconds: float):
    """The WSGI app, answering each request `seconds` late (a sleep: concurrent requests wait together)."""

    def delayed(environ, start_response):
        time.sleep(seconds)
        return app(environ, start_response)

    return delayed if seconds > 0 else app


def _serve(port: int, mirror: Path | None, prefix: str, days: int, others: int, latency_ms: float) -> None:
    import logging
    import threading

    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from moto.s3.models import s3_backends
    from werkzeug.serving import make_server

    from pipeline.defs.sparkify.layout import event_key

    backend = s3_backends[DEFAULT_ACCOUNT_ID]["global"]
    backend.create_bucket(BUCKET, CREDENTIALS["AWS_DEFAULT_REGION"])
    if mirror is not None:
        for path in sorted(p for p in mirror.rglob("*") if p.is_file()):
            backend.put_object(BUCKET, f"{prefix}/{path.relative_to(mirror).as_posix()}", path.read_bytes())
    first = dt.date(2018, 11, 1)
    for n in range(days):
        backend.put_object(BUCKET, f"{prefix}/{event_key(first + dt.timedelta(days=n))}", b'{"ts": 1}')
    for n in range(others):
        backend.put_object(BUCKET, f"{prefix}/song_data/A/B/C/TR{n:016d}.json", b"{}")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request: the server's CPU is measured
    # moto's ThreadedMotoServer, with the app wrapped when requests are to wait like S3's.
    app = _with_latency(DomainDispatcherApplication(create_backend_app), latency_ms / 1000)
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print("ready", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mirror", type=Path, help="a folder whose files become objects under --prefix")
    parser.add_argument("--prefix", default="lake")
    parser.add_argument("--days", type=int, default=0, help="tiny day files under --prefix/log_data/")
    parser.add_argument("--others", type=int, default=0, help="tiny song files under --prefix/song_data/")
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=0.0,
        help="answer each request this late, as S3 does across a network (default: at once)",
    )
    options = parser.parse_args()
    _serve(options.port, options.mirror, options.prefix, options.days, options.others, options.latency_ms)
