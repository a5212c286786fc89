"""A second loopback server, on another port and so another origin than the API's: it records the headers of every
request it receives (what a redirect would have carried there) and answers a JSON body, or a redirect of its own."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class RecordingServer:
    """127.0.0.1:<any free port> in a thread; `requests` holds (path, headers with lower-case names) in order."""

    def __init__(self, body: bytes = b"{}", redirects: dict[str, str] | None = None):
        self.body, self.redirects = body, dict(redirects or {})  # path -> the Location it answers 302 with
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> RecordingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                path = self.path.split("?")[0]
                server.requests.append((path, {name.lower(): value for name, value in self.headers.items()}))
                location = server.redirects.get(path)
                body = b"{}" if location else server.body
                self.send_response(302 if location else 200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                if location:
                    self.send_header("Location", location)
                self.end_headers()
                self.wfile.write(body)

        return Handler
