"""Downloads from a server on 127.0.0.1 that misbehaves on purpose.

``test_registry.py`` covers a tampered body, a body cut short once, a 404
message, a stale cache and derived files. Here: which failures are retried
(5xx, stalls, cut connections: bounded, with backoff) and which are not (404,
checksum mismatch), what the final :class:`DownloadError` says, and that the
cache never keeps a bad or partial file, whatever happened.
"""

from __future__ import annotations

import hashlib
import http.server
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from _http_server import LoopbackServer

from flarecast.data import registry
from flarecast.errors import ConfigError, DownloadError

SMALL = "liu2019-demo-c"  # one 58 kB file
REL = "liu2019_lstm/demo_C_normalized_testing.csv"
FAST = {"timeout": 0.3, "backoff": 0.01}  # keep the tests quick: short stalls, tiny backoff


class MisbehavingServer(LoopbackServer):
    """Serve a folder; the n-th request gets ``script[n]`` (the last entry repeats).

    Behaviours: ``"ok"``; ``"404"``, ``"500"``, ``"503"`` (an HTTP error);
    ``"stall-headers"`` (accept, then say nothing); ``"stall-body"`` (headers,
    half the body, then silence); ``"truncate"`` (announce the full length,
    send half, close); ``"tamper"`` (one byte flipped, full length).
    """

    def __init__(self, root: Path, script: list[str]) -> None:
        self.root, self.script = root, list(script)
        self.requests: list[tuple[float, str]] = []  # (monotonic time, behaviour)
        self._release = threading.Event()  # ends the stalls when the server stops
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                n = len(server.requests)
                how = server.script[min(n, len(server.script) - 1)]
                server.requests.append((time.monotonic(), how))
                rel = urllib.parse.unquote(urllib.parse.urlparse(self.path).path).lstrip("/")
                path = server.root / rel
                if how in ("404", "500", "503") or not path.is_file():
                    self.send_error(int(how) if how.isdigit() else 404)
                    return
                if how == "stall-headers":
                    server._release.wait(10)
                    return
                body = path.read_bytes()
                half = len(body) // 2
                sent = body
                if how == "tamper":
                    sent = body[:half] + bytes([body[half] ^ 0x01]) + body[half + 1 :]
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if how in ("truncate", "stall-body"):
                    self.wfile.write(body[:half])
                    self.wfile.flush()
                    if how == "stall-body":
                        server._release.wait(10)
                else:
                    self.wfile.write(sent)
                self.close_connection = True

            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

        self._bind(Handler)

    @property
    def behaviours(self) -> list[str]:
        return [how for _, how in self.requests]

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        super().__exit__(*exc)


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """An empty cache; no data folder and no mirror from the environment."""
    monkeypatch.delenv(registry.ENV_DATA_DIR, raising=False)
    monkeypatch.delenv(registry.ENV_DATA_URL, raising=False)
    folder = tmp_path / "cache"
    monkeypatch.setenv(registry.ENV_CACHE_DIR, str(folder))
    return folder


@pytest.fixture
def serve(data_dir) -> Iterator:
    servers: list[MisbehavingServer] = []

    def start(*script: str) -> MisbehavingServer:
        srv = MisbehavingServer(data_dir, list(script)).__enter__()
        servers.append(srv)
        return srv

    yield start
    for srv in servers:
        srv.__exit__()


def files_in(cache: Path) -> list[Path]:
    """Every file left in the cache, temporary ones included."""
    return sorted(p for p in cache.rglob("*") if p.is_file()) if cache.exists() else []


def assert_good_copy(cache: Path, data_dir: Path) -> None:
    assert files_in(cache) == [cache / REL]
    digest = hashlib.sha256((cache / REL).read_bytes()).hexdigest()
    assert digest == registry.get_entry(SMALL).files[0].sha256
    assert (cache / REL).read_bytes() == (data_dir / REL).read_bytes()


# --------------------------------------------------------------------------- retried
@pytest.mark.parametrize("failure", ["500", "503", "stall-headers", "stall-body", "truncate"])
def test_transient_failure_is_retried_then_succeeds(serve, cache, data_dir, failure):
    srv = serve(failure, failure, "ok")
    found = registry.locate(SMALL, base_url=srv.url, retries=3, **FAST)
    assert found[REL] == cache / REL
    assert srv.behaviours == [failure, failure, "ok"]
    assert_good_copy(cache, data_dir)


@pytest.mark.parametrize(
    ("failure", "cause"),
    [
        ("503", r"503 Server Error"),
        ("500", r"500 Server Error"),
        ("stall-headers", r"timed out"),
        ("stall-body", r"timed out"),
        ("truncate", r"IncompleteRead"),
    ],
)
def test_persistent_transient_failure_gives_up_after_bounded_retries(serve, cache, failure, cause):
    srv = serve(failure)
    start = time.monotonic()
    with pytest.raises(
        DownloadError,
        match=rf"Download of {REL} \(data set '{SMALL}'\) from {srv.url}/{REL} failed after 3 "
        rf"attempt\(s\): .*{cause}.*Nothing was written to {cache}",
    ):
        registry.locate(SMALL, base_url=srv.url, retries=2, **FAST)
    elapsed = time.monotonic() - start
    assert srv.behaviours == [failure] * 3  # exactly retries + 1 requests
    assert files_in(cache) == []  # no partial file, no temporary file
    # Three stalls of at most the 0.3 s read timeout each, plus backoff: bounded, not hanging.
    assert elapsed < 3 * 0.3 + 2.5


def test_backoff_doubles_between_attempts(serve, cache):
    srv = serve("503")
    with pytest.raises(DownloadError, match="after 4 attempt"):
        registry.locate(SMALL, base_url=srv.url, retries=3, timeout=1.0, backoff=0.1)
    times = [t for t, _ in srv.requests]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert len(gaps) == 3
    for gap, wait in zip(gaps, (0.1, 0.2, 0.4), strict=True):
        assert wait <= gap < wait + 0.5, gaps


def test_no_retries_means_one_attempt(serve, cache):
    srv = serve("503", "ok")
    with pytest.raises(DownloadError, match=r"failed after 1 attempt\(s\): 503"):
        registry.locate(SMALL, base_url=srv.url, retries=0, **FAST)
    assert srv.behaviours == ["503"] and files_in(cache) == []


# --------------------------------------------------------------------------- not retried
@pytest.mark.parametrize(
    ("failure", "cause"),
    [("404", r"404 Client Error"), ("tamper", r"does not match the known hash")],
)
def test_permanent_failure_is_not_retried(serve, cache, failure, cause):
    srv = serve(failure, "ok")
    with pytest.raises(
        DownloadError, match=rf"failed \(not retried\): .*{cause}.*Nothing was written to {cache}"
    ):
        registry.locate(SMALL, base_url=srv.url, retries=3, **FAST)
    assert srv.behaviours == [failure]  # one request: the "ok" that would follow is never asked for
    assert files_in(cache) == []


def test_failed_refresh_of_a_stale_cache_file_removes_it(serve, cache, data_dir):
    stale = cache / REL
    stale.parent.mkdir(parents=True)
    stale.write_bytes((data_dir / REL).read_bytes()[:-1])  # truncated earlier, say
    srv = serve("stall-body")
    with pytest.raises(DownloadError, match="timed out"):
        registry.locate(SMALL, base_url=srv.url, retries=1, **FAST)
    assert files_in(cache) == []  # neither the stale copy nor the partial download is kept
    srv = serve("truncate", "ok")
    registry.locate(SMALL, base_url=srv.url, retries=1, **FAST)
    assert_good_copy(cache, data_dir)


def test_connection_refused_is_retried_and_reported(cache):
    # A port nobody listens on: bind, note the number, close.
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(
        DownloadError, match=r"failed after 2 attempt\(s\): .*(refused|Max retries)"
    ):
        registry.locate(SMALL, base_url=f"http://127.0.0.1:{port}", retries=1, **FAST)
    assert files_in(cache) == []


@pytest.mark.parametrize("bad", [{"retries": -1}, {"timeout": 0}, {"backoff": -0.5}])
def test_bad_retry_settings_are_refused(cache, bad):
    with pytest.raises(ConfigError, match=r"The 'retries', 'timeout' and 'backoff' parameters"):
        registry.locate(SMALL, base_url="http://127.0.0.1:9", **bad)
