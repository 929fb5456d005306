"""OpenTelemetry: off by default, on by the standard OTEL_* variables, and one trace that follows a cart
from the partner's POST through a real Celery worker, the render and the webhook delivery to the partner."""

import importlib

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from rest_framework.test import APIClient

from config import observability_settings
from infrastructure.observability import tracing
from tests.concurrency import wait_until
from tests.http_servers import WebhookReceiver
from tests.tryons import conftest as tryon_fixtures
from tests.webhooks.factories import make_webhook

photo_of = tryon_fixtures.photo_of
garment_server = tryon_fixtures.garment_server
media_root = tryon_fixtures.media_root

OTEL_VARIABLES = [
    "OTEL_SDK_DISABLED",
    "OTEL_TRACES_EXPORTER",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
]


@pytest.fixture
def otel_env(monkeypatch):
    """Read the observability settings again under a given environment; restored afterwards."""
    for name in OTEL_VARIABLES:
        monkeypatch.delenv(name, raising=False)

    def read(**variables):
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        return importlib.reload(observability_settings)

    yield read
    for name in OTEL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    importlib.reload(observability_settings)


@pytest.mark.parametrize(
    ("variables", "enabled"),
    [
        ({}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "console"}, True),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, False),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, False),
    ],
)
def test_tracing_is_off_by_default_and_on_by_the_standard_variables(otel_env, variables, enabled):
    assert otel_env(**variables).OTEL_TRACES_ENABLED is enabled


def test_an_unknown_traces_exporter_stops_start_up(otel_env):
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="OTEL_TRACES_EXPORTER"):
        otel_env(OTEL_TRACES_EXPORTER="zipkin")


def test_our_own_spans_cost_nothing_while_tracing_is_off():
    assert tracing._tracer is None
    with tracing.span("tryon.render", engine="local") as current:
        assert current is None


@pytest.mark.parametrize(("variable", "expected"), [(None, "garmax-api"), ("garmax-worker", "garmax-worker")])
def test_the_service_name_is_otel_service_name_or_ours(monkeypatch, variable, expected):
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    if variable:
        monkeypatch.setenv("OTEL_SERVICE_NAME", variable)
    else:
        monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    provider = tracing.tracing_configure(exporter=InMemorySpanExporter(), set_global=False)
    try:
        assert provider.resource.attributes["service.name"] == expected
    finally:
        tracing.tracing_disable()


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    tracing.tracing_configure(exporter=exporter, set_global=False)
    yield exporter
    tracing.tracing_disable()


@pytest.fixture
def worker_thread(transactional_db):
    """A real Celery worker (solo pool) in this process, on the Redis broker, consuming every queue."""
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    app.control.purge()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        yield
    app.control.purge()


@pytest.mark.postgres
@pytest.mark.redis
def test_one_trace_follows_a_cart_from_the_post_through_the_worker_render_and_webhook(
    settings, spans, organization, partner_client, photo_of, garment_server, media_root, worker_thread
):
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True  # the garment server and the receiver are on loopback
    receiver = WebhookReceiver()
    try:
        make_webhook(organization, receiver.url)
        client: APIClient = partner_client(organization)  # built after instrumenting: Django's span too
        response = client.post(
            "/api/v1/cart-tryons",
            {
                "cartId": "cart_traced",
                "customerPhotoS3Key": photo_of(organization).storage_key,
                "renderQuality": "sd",
                "cartItems": [
                    {
                        "productId": "prod_1",
                        "name": "Red top",
                        "imageUrl": garment_server.url("/garment-1.png"),
                        "category": "tops",
                        "quantity": 1,
                        "price": "29.99",
                        "currency": "USD",
                    }
                ],
            },
            format="json",
        )
        assert response.status_code in (200, 201), response.content
        (delivered,) = receiver.wait_for(1, timeout=60)
        assert b"cart_tryon.completed" in delivered.body
        traceparent = delivered.headers.get("traceparent", "")
        wait_until(
            lambda: any(s.name == "POST" and s.kind == SpanKind.CLIENT for s in _all(spans)), timeout=10
        )
    finally:
        receiver.stop()

    finished = _all(spans)
    post = next(s for s in finished if s.kind == SpanKind.SERVER and s.name.startswith("POST"))
    assert post.attributes.get("http.route", "").startswith("api/v1/cart-tryons")
    assert post.attributes.get("garmax.request_id") == response["X-Request-Id"]
    trace_id = post.context.trace_id
    in_trace = [s for s in finished if s.context.trace_id == trace_id]
    names = [s.name for s in in_trace]
    assert any(s.kind == SpanKind.CONSUMER and "tryons.process_cart_session" in s.name for s in in_trace), (
        names
    )
    assert any(s.name == "tryon.render" and s.attributes["garmax.engine"] == "local" for s in in_trace), names
    assert any(s.kind == SpanKind.CONSUMER and "webhooks." in s.name for s in in_trace), names
    webhook_post = [s for s in in_trace if s.kind == SpanKind.CLIENT and s.name == "POST"]
    assert webhook_post, names
    # The partner's receiver got the trace context too, so its own spans can join the trace.
    assert f"{trace_id:032x}" in traceparent
    # Spans carry no credential or request body.
    raw_key = client._credentials["HTTP_X_API_KEY"]
    for span in in_trace:
        assert raw_key not in str(dict(span.attributes))


def _all(exporter):
    return list(exporter.get_finished_spans())
