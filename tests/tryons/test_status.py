"""GET /api/v1/status (public: health and each engine's state, no secret, no host) and its HTML page."""

from datetime import timedelta
from unittest import mock

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from tryons.engines.settings import engine_settings
from tryons.models import EngineCircuit

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


@pytest.fixture(autouse=True)
def fresh_status():
    cache.delete("status:public")
    yield
    cache.delete("status:public")


def status():
    answer = APIClient().get("/api/v1/status")
    assert answer.status_code == 200, answer.content
    return answer.json()


def test_the_status_needs_no_key_and_says_every_component_is_up():
    body = status()
    assert body["status"] == "operational"
    assert body["components"] == {"api": "up", "database": "up", "cache": "up", "queue": "up"}
    assert body["engines"] == [
        {
            "name": "local",
            "qualities": ["sd", "hd", "4k"],
            "fallback": False,
            "state": "up",
            "circuitOpenUntil": None,
        }
    ]


@pytest.fixture
def fashn_with_fallback(monkeypatch, settings):
    """fashn renders every quality, local takes its items while its circuit is open (engine settings are
    read from the environment once per process: tryons.engines.settings)."""
    monkeypatch.setenv("FASHN_API_KEY", "fa-secret-key")
    monkeypatch.setenv("TRYON_FALLBACK_RENDERER", "local")
    settings.TRYON_RENDERER = "fashn"
    engine_settings.cache_clear()
    yield monkeypatch
    engine_settings.cache_clear()


def test_an_open_circuit_is_degraded_with_a_fallback_and_down_without(fashn_with_fallback):
    EngineCircuit.objects.create(engine="fashn", open_until=timezone.now() + timedelta(seconds=60))
    body = status()
    engines = {engine["name"]: engine for engine in body["engines"]}
    assert engines["fashn"]["state"] == "degraded" and engines["fashn"]["circuitOpenUntil"]
    assert engines["local"] == {
        "name": "local",
        "qualities": [],
        "fallback": True,
        "state": "up",
        "circuitOpenUntil": None,
    }
    assert body["status"] == "degraded"
    raw = APIClient().get("/api/v1/status").content.decode()
    assert "fa-secret-key" not in raw and "api.fashn.ai" not in raw and "127.0.0.1" not in raw
    fashn_with_fallback.delenv("TRYON_FALLBACK_RENDERER")
    engine_settings.cache_clear()
    cache.delete("status:public")
    assert status()["engines"][0]["state"] == "down"


def test_the_answer_is_shared_for_ten_seconds():
    first = status()
    with mock.patch("tryons.status.engine_states", side_effect=AssertionError("worked out again")):
        assert status() == first


def test_a_down_queue_degrades_and_a_down_database_is_down():
    with mock.patch("tryons.status._queue", side_effect=OSError("amqp://user:password@broker")):
        body = status()
    assert body["status"] == "degraded" and body["components"]["queue"] == "down"
    assert "password" not in str(body)
    cache.delete("status:public")
    with mock.patch("tryons.status._database", side_effect=RuntimeError("db down")):
        body = status()
    assert body["status"] == "down" and body["components"]["database"] == "down" and body["engines"] == []


def test_the_status_page_is_ours_whole_and_says_the_same(client):
    page = client.get("/api/docs/status")
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    html = page.content.decode()
    assert "operational" in html and "local" in html and 'http-equiv="refresh"' in html
    # No script, stylesheet or font from anywhere else.
    for attribute in ('src="http', "src='http", 'href="http', "@import"):
        assert attribute not in html


def test_the_status_page_refuses_other_methods_in_the_error_format(client):
    answer = client.post("/api/docs/status")
    assert answer.status_code == 405 and answer.json()["error"] == "MethodNotAllowed"
