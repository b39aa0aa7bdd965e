"""A real HTTP server on 127.0.0.1 serving a folder, able to tamper with or truncate bodies.

Used by the registry and CLI download tests (no mocks: pooch and requests talk
to a real socket).
"""

from __future__ import annotations

import contextlib
import http.server
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Self


class LoopbackServer:
    """A threaded HTTP server on 127.0.0.1 (an ephemeral port), started and stopped as a context manager.

    Subclasses build their request handler class and call :meth:`_bind` with it.
    """

    def _bind(self, handler: type[http.server.BaseHTTPRequestHandler], path: str = "") -> None:
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}{path}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


class FileServer(LoopbackServer):
    """Serve ``root``; ``mode`` is ``"ok"``, ``"tamper"`` (one byte flipped) or ``"truncate"``
    (announce the full Content-Length, send half, close)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.mode = "ok"
        self.requests: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                rel = urllib.parse.unquote(urllib.parse.urlparse(self.path).path).lstrip("/")
                server.requests.append(rel)
                path = server.root / rel
                if ".." in Path(rel).parts or not path.is_file():
                    self.send_error(404)
                    return
                body = path.read_bytes()
                sent = body
                if server.mode == "tamper":
                    mid = len(body) // 2
                    sent = body[:mid] + bytes([body[mid] ^ 0x01]) + body[mid + 1 :]
                elif server.mode == "truncate":
                    sent = body[: len(body) // 2]
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(sent)
                self.close_connection = True

            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

        self._bind(Handler)


@contextlib.contextmanager
def serve(root: Path) -> Iterator[FileServer]:
    with FileServer(root) as srv:
        yield srv
