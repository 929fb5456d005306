"""A real HTTP receiver for webhook tests, and helpers to run delivery tasks in-process."""

import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from config.celery import app as celery_app


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes
    at: float  # time.monotonic() on arrival


@dataclass
class Receiver:
    """Records every POST; `respond(request) -> (status, headers, body, delay_seconds)` decides the answer."""

    server: ThreadingHTTPServer
    requests: list = field(default_factory=list)
    respond: object = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def wait_for(self, count: int, timeout: float = 10.0) -> list:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.requests)


def _start_receiver() -> Receiver:
    receiver = Receiver(server=None)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length)
            request = Received(self.path, dict(self.headers.items()), body, time.monotonic())
            receiver.requests.append(request)
            status, headers, payload, delay = (
                receiver.respond(request) if receiver.respond else (200, {}, b'{"received":true}', 0)
            )
            if delay:
                time.sleep(delay)
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting, which is what a hanging-endpoint test wants

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.server = server
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver


@pytest.fixture
def receiver():
    started = _start_receiver()
    yield started
    started.server.shutdown()
    started.server.server_close()


@pytest.fixture
def make_receiver():
    started = []

    def build():
        started.append(_start_receiver())
        return started[-1]

    yield build
    for item in started:
        item.server.shutdown()
        item.server.server_close()


@pytest.fixture
def private_targets(settings):
    """The receiver listens on loopback, which production refuses; lift that for this test only."""
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True


@pytest.fixture
def eager_tasks():
    """Run queued tasks inline (a countdown is ignored, but a retry not yet due is a no-op anyway)."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


class Clock:
    """Moves Django's notion of now; services and auto_now fields all read django.utils.timezone.now."""

    def __init__(self):
        self.now = timezone.now()

    def __call__(self):
        return self.now

    def advance_to(self, moment):
        self.now = moment

    def advance(self, seconds: float):
        self.now = self.now + timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(timezone, "now", fake)
    return fake
