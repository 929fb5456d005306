"""Webhook fixtures: a real HTTP receiver (tests/http_servers.py), a clock, delivery tasks run in-process."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.http_servers import WebhookReceiver


@pytest.fixture
def receiver():
    started = WebhookReceiver()
    yield started
    started.stop()


@pytest.fixture
def make_receiver():
    started = []

    def build():
        started.append(WebhookReceiver())
        return started[-1]

    yield build
    for item in started:
        item.stop()


@pytest.fixture
def private_targets(settings):
    """The receiver listens on loopback, which production refuses; lift that for this test only."""
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True


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
