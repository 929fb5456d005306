"""A real HTTP receiver for webhook tests, and helpers to run delivery tasks in-process."""

import contextlib
import time
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.utils import timezone

from config.celery import app as celery_app
from tests.concurrency import wait_until
from tests.http_servers import LocalServer, QuietHandler


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes
    at: float  # time.monotonic() on arrival


@dataclass
class Receiver:
    """Records every POST; `respond(request) -> (status, headers, body, delay_seconds)` decides the answer."""

    server: LocalServer
    requests: list = field(default_factory=list)
    respond: object = None

    @property
    def url(self) -> str:
        return self.server.url()

    def wait_for(self, count: int, timeout: float = 10.0) -> list:
        """What has arrived once `count` requests have, or after `timeout`: the caller asserts on it."""
        with contextlib.suppress(AssertionError):
            wait_until(lambda: len(self.requests) >= count, timeout=timeout, interval=0.02)
        return list(self.requests)


def _start_receiver() -> Receiver:
    receiver = Receiver(server=None)

    class Handler(QuietHandler):
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
            self.reply(status, payload, headers)  # a hanging-endpoint test's client gives up meanwhile

    receiver.server = LocalServer(Handler)
    return receiver


@pytest.fixture
def receiver():
    started = _start_receiver()
    yield started
    started.server.stop()


@pytest.fixture
def make_receiver():
    started = []

    def build():
        started.append(_start_receiver())
        return started[-1]

    yield build
    for item in started:
        item.server.stop()


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
