"""Real loopback HTTP servers for tests and bench/: the one place that starts one.

`LocalServer` runs any `BaseHTTPRequestHandler` (usually a `QuietHandler`, whose `reply` answers a status
and body and tolerates a client that gave up) on 127.0.0.1 in background threads; it can stop and start
again on the same port, as a partner's server restarting would. `SlowServer` answers one byte a second, in
its headers or in its body: each byte arrives well within any per-read socket timeout, so only a total
deadline stops a client. Its trickle is finite (`trickle_bytes` bytes, then a valid response), so a client
without a deadline does get an answer, just far too late, and a test of the deadline fails instead of
hanging.
"""

import socket
import socketserver
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


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
