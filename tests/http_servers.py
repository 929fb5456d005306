"""Real loopback HTTP servers for tests and bench/: the one place that starts one, or picks a free port.

`LocalServer` runs any `BaseHTTPRequestHandler` (usually a `QuietHandler`, whose `reply` answers a status
and body and tolerates a client that gave up) on 127.0.0.1 in background threads; it can stop and start
again on the same port, as a partner's server restarting would. On it run the partner's two servers: a
shop's CDN (`GarmentServer`) and a webhook endpoint (`WebhookReceiver`). `SlowServer` answers one byte a
second, in its headers or in its body: each byte arrives well within any per-read socket timeout, so only a
total deadline stops a client. Its trickle is finite (`trickle_bytes` bytes, then a valid response), so a
client without a deadline does get an answer, just far too late, and a test of the deadline fails instead
of hanging.
"""

import contextlib
import hashlib
import socket
import socketserver
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from requests.structures import CaseInsensitiveDict

from tests.concurrency import wait_until
from tests.images import garment_png


def free_port() -> int:
    """A loopback port nothing listens on now, for a process the test starts (gunicorn, Redis, moto)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that logs nothing and answers in one call."""

    def log_message(self, *args):
        pass

    def reply(self, status: int, body: bytes = b"", headers: dict | None = None) -> None:
        try:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (a timeout or size-limit test wants exactly that)


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a request still being answered never holds up the end of a test
    allow_reuse_address = True
    # socketserver's default backlog of 5 drops the SYNs of a worker's parallel downloads and submits, and
    # the kernel retries them a second later: that second was the fake's, not ours.
    request_queue_size = 128


class LocalServer:
    """`handler` served on 127.0.0.1 (`port` 0: any free port) until `stop()`; a context manager too."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], *, port: int = 0):
        self.handler = handler
        self.port = port
        self.start()

    def start(self) -> "LocalServer":
        self.httpd = _Server(("127.0.0.1", self.port), self.handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Go down: the port refuses connections until `start()`."""
        self.httpd.shutdown()
        self.httpd.server_close()

    close = stop

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> "LocalServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class GarmentServer:
    """A shop's CDN on loopback; `hits` records every path asked for, in order.

    `/garment…` is a garment PNG; `/garments/<name>[-<anything>].png` a cut-out garment in the colour of
    `name` (one of `COLORS`); `/redirect/<path>` a 302 to `/<path>`; `/not-an-image.png` HTML;
    `/huge.png` 2 MiB; `/always-304.png` a 304 to any request; `/flaky.png` a 503, then the garment from its
    second request on; anything else a 404.
    `delay` slows every answer, `delays[path]` one path's (to hold a render in flight). `/garments/` answers
    carry an ETag and Last-Modified (unless `validators` is False) and a conditional GET that matches is a
    304 (`answers` records each status); `images[path]` serves other bytes at a path (a shop's new photo
    behind the same URL), `failing` paths answer 503.
    """

    COLORS = {"tshirt": (30, 80, 200), "jeans": (20, 20, 40), "dress": (200, 30, 60), "jacket": (90, 110, 60)}

    def __init__(self):
        self.hits: list[str] = []
        self.delay = 0.0
        self.delays: dict[str, float] = {}
        self.images: dict[str, bytes] = {}
        self.failing: set[str] = set()
        self.validators = True
        self.answers: list[tuple[str, int]] = []
        server = self

        class Handler(QuietHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                server.hits.append(self.path)
                path = self.path.split("?")[0]
                time.sleep(server.delay + server.delays.get(path, 0))
                if path == "/always-304.png":  # a server answering 304 whatever it was asked
                    self.reply(304)
                    return
                if path.startswith("/redirect/"):
                    self.reply(302, headers={"Location": "/" + path.removeprefix("/redirect/")})
                    return
                answer = 503 if path in server.failing else server._answer(path, self.path)
                if answer is None:
                    self.reply(404)
                elif answer == 503:
                    self.reply(503)
                elif path.startswith("/garments/") and server.validators:
                    etag = f'"{hashlib.sha256(answer[0]).hexdigest()[:16]}"'
                    headers = {"ETag": etag, "Last-Modified": "Wed, 02 Dec 2026 10:00:00 GMT"}
                    status = 304 if self.headers.get("If-None-Match") == etag else 200
                    server.answers.append((path, status))
                    body = answer[0] if status == 200 else b""
                    self.reply(status, body, {**headers, "Content-Type": answer[1]})
                else:
                    self.reply(200, answer[0], {"Content-Type": answer[1]})  # a size-limit test may hang up

        self.server = LocalServer(Handler)
        self.port = self.server.port

    def _answer(self, path: str, full_path: str) -> tuple[bytes, str] | int | None:
        if path in self.images:
            return self.images[path], "image/png"
        if path.startswith("/garments/"):
            name = path.rsplit("/", 1)[-1].split(".")[0].split("-")[0]
            color = self.COLORS.get(name)
            return None if color is None else (garment_png(color, (512, 512), cut_out=True), "image/png")
        if path.startswith("/garment"):
            return garment_png(), "image/png"
        if path == "/not-an-image.png":
            return b"<html>hello</html>", "image/png"
        if path == "/huge.png":
            return b"\0" * (2 * 1024 * 1024), "image/png"
        if path == "/flaky.png":
            return 503 if self.hits.count(full_path) < 2 else (garment_png(), "image/png")
        return None

    def url(self, path: str) -> str:
        return self.server.url(path)

    def garment_url(self, name: str) -> str:
        """The URL of the cut-out garment `name` (`tshirt`, or `tshirt-<tag>` to tell a test's hits apart)."""
        return self.url(f"/garments/{name}.png")

    def close(self) -> None:
        self.server.stop()


@dataclass
class Received:
    """One request a `WebhookReceiver` got; `headers` are case-insensitive, `at` is time.monotonic()."""

    path: str
    headers: CaseInsensitiveDict
    body: bytes
    at: float
    client_port: int


@dataclass
class WebhookReceiver:
    """A partner's webhook endpoint on loopback: records every POST in `requests` and answers 200 JSON, or
    what `respond(request) -> (status, headers, body, delay_seconds)` says. It can go down (`stop`) and come
    back on the same port (`start`), as a partner's server restarting would. `keep_alive` makes it speak
    HTTP/1.1, so a client may send several requests on one connection."""

    keep_alive: bool = False
    requests: list[Received] = field(default_factory=list)
    respond: object = None

    def __post_init__(self):
        receiver = self
        self._lock = threading.Lock()

        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1" if receiver.keep_alive else "HTTP/1.0"

            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                request = Received(
                    self.path,
                    CaseInsensitiveDict(self.headers.items()),
                    body,
                    time.monotonic(),
                    self.client_address[1],
                )
                with receiver._lock:
                    receiver.requests.append(request)
                status, headers, payload, delay = (
                    receiver.respond(request)
                    if receiver.respond
                    else (200, {"Content-Type": "application/json"}, b'{"received": true}', 0)
                )
                if delay:
                    time.sleep(delay)
                self.reply(status, payload, headers)  # a hanging-endpoint test's client gives up meanwhile

        self.server = LocalServer(Handler)

    @property
    def url(self) -> str:
        """The endpoint's URL (its root path)."""
        return self.server.url()

    def url_at(self, path: str) -> str:
        """The endpoint's URL at `path`: one receiver serves many webhooks, told apart by path."""
        return self.server.url(path)

    def received(self, path: str) -> list[Received]:
        with self._lock:
            return [request for request in self.requests if request.path == path]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """What has arrived once `count` requests have, or after `timeout`: the caller asserts on it."""
        with contextlib.suppress(AssertionError):
            wait_until(lambda: len(self.requests) >= count, timeout=timeout, interval=0.02)
        return list(self.requests)

    def start(self) -> None:
        self.server.start()  # on the same port

    def stop(self) -> None:
        """Go down: the port refuses connections until `start()`."""
        self.server.stop()


class SlowServer:
    """`mode` is "headers" (a header line dripped byte by byte), "body" (Content-Length declared, body
    dripped) or "body-until-close" (no length: the body ends when the connection does)."""

    def __init__(self, mode: str, *, trickle_bytes: int = 12, interval: float = 1.0):
        self.mode = mode
        self.trickle_bytes = trickle_bytes
        self.interval = interval
        self.requests = 0
        self.stopped = threading.Event()
        server = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                server.requests += 1
                self.request.settimeout(5)
                try:
                    path = server._read_request(self.request)
                    if path.startswith("/redirect/"):  # a quick hop to the slow answer
                        location = "/" + path.removeprefix("/redirect/")
                        self.request.sendall(
                            f"HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n"
                            "Connection: close\r\n\r\n".encode()
                        )
                        return
                    server._answer(self.request)
                except OSError:
                    pass  # the client gave up, which is what these tests want

        self.tcp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler, bind_and_activate=False)
        self.tcp.daemon_threads = True
        self.tcp.allow_reuse_address = True
        self.tcp.server_bind()
        self.tcp.server_activate()
        threading.Thread(target=self.tcp.serve_forever, daemon=True).start()

    def url(self, path: str = "/garment.png") -> str:
        return f"http://127.0.0.1:{self.tcp.server_address[1]}{path}"

    def _read_request(self, sock: socket.socket) -> str:
        """Read one request; return its path."""
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return ""
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
        return head.split(b" ")[1].decode() if b" " in head else ""

    def _drip(self, sock: socket.socket, data: bytes) -> None:
        for byte in data:
            if self.stopped.wait(self.interval):
                raise OSError("server stopped")
            sock.sendall(bytes([byte]))

    def _answer(self, sock: socket.socket) -> None:
        payload = b"x" * self.trickle_bytes
        if self.mode == "headers":
            sock.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            self._drip(sock, payload)
            sock.sendall(b"\r\nContent-Type: image/png\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        elif self.mode == "body":
            sock.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n"
                + f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
            )
            self._drip(sock, payload)
        else:
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nConnection: close\r\n\r\n")
            self._drip(sock, payload)

    def close(self) -> None:
        self.stopped.set()
        self.tcp.shutdown()
        self.tcp.server_close()


def timed(call):
    """Run `call()`, returning (seconds it took, its result or the exception it raised)."""
    started = time.monotonic()
    try:
        outcome = call()
    except Exception as exc:  # the tests look at which one
        outcome = exc
    return time.monotonic() - started, outcome
