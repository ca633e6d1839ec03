"""The sandbox over HTTP: a threaded server bound to loopback only.

with SandboxServer(world) as srv:        # port 0 = any free port
    requests.get(srv.base_url + "/v26.0/" + world.pages[0],
                 params={"fields": "fan_count", "access_token": "sandbox-token"})
"""

from __future__ import annotations

import ipaddress
import json
import socket
import sys
import threading
import traceback
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .api import CallResult, GraphApp, dumps
from .errors import GraphError
from .observe import LogEntry, RequestLog, Stats
from .world import World

_MAX_BODY = 10 * 1024 * 1024


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_body(content_type: str, body: bytes) -> list[tuple[str, str]]:
    """Form, JSON or multipart request bodies as (name, value) pairs."""
    if not body:
        return []
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/json":
        data = json.loads(body.decode("utf-8"))
        if not isinstance(data, dict):
            return []
        return [(str(k), v if isinstance(v, str) else json.dumps(v)) for k, v in data.items()]
    if kind == "multipart/form-data":
        message = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
        )
        pairs = []
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if isinstance(name, str) and isinstance(payload, bytes):
                pairs.append((name, payload.decode("utf-8", "replace")))
        return pairs
    return parse_qsl(body.decode("utf-8"), keep_blank_values=True)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    sandbox: SandboxServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout fault) closes its socket; that is not worth a traceback.
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


class _HTTPServer6(_HTTPServer):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "fanpulse-graph-sandbox"
    sys_version = ""
    timeout = 60  # idle keep-alive connections end after a minute
    # Headers and body leave in two writes; with Nagle on, the body waits for the client's
    # delayed ACK (~40 ms a call on Linux). TCP_NODELAY sends it at once.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:  # noqa: N802 (BaseHTTPRequestHandler's naming)
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def do_DELETE(self) -> None:  # noqa: N802
        self._serve("DELETE")

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log and stats are the record."""

    def _serve(self, method: str) -> None:
        sandbox = self.server.sandbox
        split = urlsplit(self.path)
        query = parse_qsl(split.query, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(min(length, _MAX_BODY)) if length else b""
        sandbox.delay()
        try:
            body = parse_body(self.headers.get("Content-Type", ""), raw)
            result = sandbox.app.handle(
                method, split.path, query, body, self.headers.get("Authorization")
            )
        except Exception:  # a bug in the sandbox must not kill the connection silently
            traceback.print_exc(file=sys.stderr)
            err = GraphError(500, "An unknown error has occurred.", 1, is_transient=False)
            result = CallResult(
                500, err.body(), [("Content-Type", "application/json; charset=UTF-8")], "", "other"
            )
            sandbox.request_log_store.add(LogEntry(method, split.path, "", 500, None))
        sandbox.hold()
        payload = dumps(result.body).encode("ascii")
        headers = result.headers
        if result.jsonp is not None:
            # A legacy app's JSONP callback (§0): the JSON wrapped in a call, served as script.
            payload = b"/**/ " + result.jsonp.encode("ascii") + b"(" + payload + b");"
            headers = [(n, v) for n, v in headers if n != "Content-Type"]
            headers.insert(0, ("Content-Type", "text/javascript; charset=UTF-8"))
        try:
            self.send_response(result.status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (ConnectionError, TimeoutError):
            self.close_connection = True


class SandboxServer:
    """Runs the Graph API sandbox for ``world`` on a daemon thread (context manager)."""

    def __init__(self, world: World, host: str = "127.0.0.1", port: int = 0) -> None:
        if not is_loopback(host):
            raise ValueError(f"the sandbox only listens on loopback, not on {host!r}")
        self.world = world
        self.host = host
        self.port = port
        self.stats = Stats()
        self.request_log_store = RequestLog()
        self.app = GraphApp(world, self.stats, self.request_log_store)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> SandboxServer:
        if self._httpd is not None:
            return self
        cls = _HTTPServer6 if ":" in self.host else _HTTPServer
        httpd = cls((self.host.strip("[]"), self.port), _Handler)
        httpd.sandbox = self
        self._httpd = httpd
        self.port = httpd.server_address[1]
        self.app.base_url = self.base_url
        self._stopping.clear()
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="graph-sandbox",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._stopping.set()  # wakes handlers sleeping in latency or timeout faults
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- observation ----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        host = f"[{self.host.strip('[]')}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def request_log(self) -> list[LogEntry]:
        return self.request_log_store.entries()

    def url(self, path: str) -> str:
        return self.base_url + "/" + path.lstrip("/")

    # -- HTTP-level faults ----------------------------------------------------------------------

    def delay(self) -> None:
        """Sleep the configured latency (+ jitter) before answering."""
        faults = self.world.faults
        seconds = faults.latency_ms / 1000.0
        if faults.jitter_ms > 0:
            seconds += faults.draw() * faults.jitter_ms / 1000.0
        if seconds > 0:
            self._stopping.wait(seconds)

    def hold(self) -> None:
        """The timeout fault: the work is done (and counted) but the answer comes too late."""
        faults = self.world.faults
        if faults.timeout_rate > 0 and faults.draw() < faults.timeout_rate:
            self.stats.record_timeout()
            self._stopping.wait(faults.timeout_seconds)
