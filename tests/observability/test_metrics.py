"""The Prometheus metrics: the protected endpoint, request counting by route template, and the families the
pipeline, the ledger, webhooks and the outbound guard feed. Tests run in single-process mode (no
PROMETHEUS_MULTIPROC_DIR); tests/e2e/test_metrics_scrape.py scrapes gunicorn and a prefork worker."""

import re
import time

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from config.celery import app as celery_app
from tests.http_servers import WebhookReceiver
from tests.tryons import conftest as tryon_fixtures
from tests.webhooks.factories import make_webhook
from tryons import services as tryon_services
from webhooks import tasks as webhook_tasks
from webhooks.models import WebhookDelivery

photo_of = tryon_fixtures.photo_of
garment_server = tryon_fixtures.garment_server
media_root = tryon_fixtures.media_root
fast_retries = tryon_fixtures.fast_retries

TOKEN = "metrics-token-0123456789abcdef"

# Ids the API hands out; none may ever appear as a label value.
_ID = re.compile(r"\b(org|key|cust|photo|cts|tryon|webhook|evt|req)_[A-Za-z0-9]+")
ALLOWED_LABELS = {"route", "method", "status", "auth", "kind", "source", "engine", "outcome", "queue", "le"}


@pytest.fixture
def metrics_on(settings):
    settings.METRICS_TOKEN = TOKEN


def sample(name, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scrape(client=None) -> str:
    response = (client or APIClient()).get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return response.content.decode()


@pytest.mark.django_db
def test_the_metrics_path_does_not_exist_without_a_token(settings):
    settings.METRICS_TOKEN = ""
    response = APIClient().get("/metrics")
    assert response.status_code == 404
    assert response.json()["error"] == "ResourceNotFound"


@pytest.mark.django_db
@pytest.mark.parametrize("header", [None, "Bearer wrong-token-0123456789", f"Basic {TOKEN}", TOKEN])
def test_metrics_need_the_bearer_token(metrics_on, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = APIClient().get("/metrics", **extra)
    assert response.status_code == 401
    assert response.json()["error"] == "Unauthorized" and response.json()["code"] == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "garmax_" not in response.content.decode()


@pytest.mark.django_db
def test_metrics_refuse_writes(metrics_on):
    response = APIClient().post("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 405 and response.json()["error"] == "MethodNotAllowed"


@pytest.mark.django_db
def test_a_partner_read_is_counted_by_route_template_status_and_auth(
    metrics_on, organization, partner_client
):
    client = partner_client(organization, scopes=("customers:read",))
    labels = {"route": "/api/v1/customers/{externalId}", "method": "GET", "status": "404", "auth": "api_key"}
    before = sample("garmax_http_requests_total", **labels)
    before_latency = sample("garmax_http_request_duration_seconds_count", route=labels["route"], method="GET")

    assert client.get("/api/v1/customers/shopper-jane-doe").status_code == 404

    assert sample("garmax_http_requests_total", **labels) == before + 1
    assert (
        sample("garmax_http_request_duration_seconds_count", route=labels["route"], method="GET")
        == before_latency + 1
    )
    body = scrape()
    assert "shopper-jane-doe" not in body and organization.id not in body


@pytest.mark.django_db
def test_refused_keys_jwt_and_anonymous_callers_are_told_apart(metrics_on, owner, organization, jwt_client):
    route = "/api/v1/customers"
    before = sample("garmax_http_requests_total", route=route, method="GET", status="401", auth="refused")
    bad = APIClient()
    bad.credentials(HTTP_X_API_KEY="gx_live_" + "a" * 40)
    assert bad.get(route).status_code == 401
    assert APIClient().get(route).status_code == 401
    assert sample("garmax_http_requests_total", route=route, method="GET", status="401", auth="refused") == (
        before + 2
    )

    org_route = "/api/organizations/{pk}"
    before_jwt = sample("garmax_http_requests_total", route=org_route, method="GET", status="200", auth="jwt")
    assert jwt_client(owner).get(f"/api/organizations/{organization.id}").status_code == 200
    assert sample("garmax_http_requests_total", route=org_route, method="GET", status="200", auth="jwt") == (
        before_jwt + 1
    )


@pytest.mark.django_db
def test_paths_that_match_no_route_share_one_label(metrics_on):
    before = sample("garmax_http_requests_total", route="unmatched", method="GET", status="404", auth="none")
    for n in range(3):
        assert APIClient().get(f"/wp-admin/scan-{n}.php").status_code == 404
    after = sample("garmax_http_requests_total", route="unmatched", method="GET", status="404", auth="none")
    assert after == before + 3
    assert "scan-1" not in scrape()


@pytest.mark.django_db
def test_rate_limited_requests_are_counted(metrics_on, organization, partner_client):
    client = partner_client(organization, scopes=("customers:read",), rate_limit=1)
    route = "/api/v1/customers"
    before = sample("garmax_rate_limited_requests_total", route=route)
    statuses = [client.get(route).status_code for _ in range(3)]
    assert statuses == [200, 429, 429]
    assert sample("garmax_rate_limited_requests_total", route=route) == before + 2
    assert sample("garmax_http_requests_total", route=route, method="GET", status="429", auth="api_key") >= 2


@pytest.mark.django_db(transaction=True)
def test_a_cart_feeds_credits_sessions_items_render_and_webhook_metrics(
    settings, organization, photo_of, garment_server, media_root, eager_tasks
):
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True
    receiver = WebhookReceiver()
    try:
        make_webhook(organization, receiver.url)
        before = {
            "charged": sample("garmax_credits_total", kind="charge"),
            "refunded": sample("garmax_credits_total", kind="refund"),
            "queued": sample("garmax_cart_sessions_total", status="queued"),
            "partial": sample("garmax_cart_sessions_total", status="partial"),
            "done": sample("garmax_tryons_total", status="completed", source="cart"),
            "failed": sample("garmax_tryons_total", status="failed", source="cart"),
            "rendered": sample("garmax_render_duration_seconds_count", engine="local", outcome="completed"),
            "success": sample("garmax_webhook_attempts_total", outcome="success"),
            "lag": sample("garmax_webhook_delivery_lag_seconds_count"),
        }
        session, _ = tryon_services.cart_session_create(
            organization_id=organization.id,
            cart_id="cart_metrics",
            photo_key=photo_of(organization).storage_key,
            items=[
                tryon_services.GarmentInput(
                    product_id=f"p{n}",
                    variant_id=f"v{n}",
                    image_url=garment_server.url(path),
                    category="tops",
                )
                for n, path in enumerate(["/garment-1.png", "/missing.png"], start=1)
            ],
            render_quality="hd",
        )  # eager: processed and its event delivered on commit
        receiver.wait_for(1)
        for delivery in WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING):
            webhook_tasks.deliver_endpoint(delivery.webhook_id)

        assert sample("garmax_credits_total", kind="charge") == before["charged"] + 4  # 2 items × hd
        assert sample("garmax_credits_total", kind="refund") == before["refunded"] + 2  # the failed one
        assert sample("garmax_cart_sessions_total", status="queued") == before["queued"] + 1
        assert sample("garmax_cart_sessions_total", status="partial") == before["partial"] + 1
        assert sample("garmax_tryons_total", status="completed", source="cart") == before["done"] + 1
        assert sample("garmax_tryons_total", status="failed", source="cart") == before["failed"] + 1
        assert (
            sample("garmax_render_duration_seconds_count", engine="local", outcome="completed")
            == before["rendered"] + 1
        )
        assert sample("garmax_webhook_attempts_total", outcome="success") == before["success"] + 1
        assert sample("garmax_webhook_delivery_lag_seconds_count") == before["lag"] + 1
        assert session.id not in scrape_text()
    finally:
        receiver.stop()


def scrape_text() -> str:
    from prometheus_client import generate_latest

    return generate_latest(REGISTRY).decode()


@pytest.mark.django_db
def test_outbound_guard_refusals_are_counted(settings, organization):
    from infrastructure import outbound

    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = False
    before_post = sample("garmax_outbound_refusals_total", method="POST")
    before_get = sample("garmax_outbound_refusals_total", method="GET")
    with pytest.raises(outbound.OutboundBlocked):
        outbound.post("https://127.0.0.1/hook", data=b"{}", headers={}, timeout=2)
    with pytest.raises(outbound.OutboundBlocked):
        outbound.fetch_bytes("http://10.0.0.1/garment.png", max_bytes=10, timeout=2)
    assert sample("garmax_outbound_refusals_total", method="POST") == before_post + 1
    assert sample("garmax_outbound_refusals_total", method="GET") == before_get + 1
    # A hosted engine's API call (an operator pointing FASHN_API_URL at a private address) counts too.
    with pytest.raises(outbound.OutboundBlocked):
        outbound.request(
            "GET", "https://192.168.1.5/v1/status/x", headers={}, timeout=2, max_response_bytes=9
        )
    assert sample("garmax_outbound_refusals_total", method="GET") == before_get + 2


@pytest.mark.django_db
def test_every_label_is_from_a_small_fixed_set(metrics_on, organization, partner_client):
    client = partner_client(organization)
    client.post("/api/v1/customers", {"externalId": "ext-42", "email": "a@example.com"}, format="json")
    client.get("/api/v1/customers/ext-42")
    client.get(f"/api/v1/cart-tryons/cts_{'x' * 20}")
    families = list(text_string_to_metric_families(scrape()))
    ours = [family for family in families if family.name.startswith("garmax_")]
    assert ours
    for family in ours:
        for metric_sample in family.samples:
            assert set(metric_sample.labels) <= ALLOWED_LABELS, (family.name, metric_sample.labels)
            for value in metric_sample.labels.values():
                assert not _ID.search(value), (family.name, value)
                assert "ext-42" not in value and "@" not in value
    assert any(family.samples for family in ours)


@pytest.mark.redis
@pytest.mark.django_db
def test_queue_depth_oldest_age_and_unconsumed_queues_are_read_from_the_broker(metrics_on, settings):
    from infrastructure import health

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    celery_app.control.purge()
    try:
        celery_app.send_task("webhooks.dispatch_due_deliveries", queue="webhooks")
        time.sleep(1.2)
        families = {f.name: f for f in text_string_to_metric_families(scrape())}
        depth = {s.labels["queue"]: s.value for s in families["garmax_celery_queue_length"].samples}
        age = {
            s.labels["queue"]: s.value
            for s in families["garmax_celery_queue_oldest_task_age_seconds"].samples
        }
        unconsumed = {s.labels["queue"]: s.value for s in families["garmax_celery_queue_unconsumed"].samples}
        assert set(depth) == {"celery", "tryons", "webhooks", "bulk"}
        assert depth["webhooks"] == 1 and depth["tryons"] == 0
        assert 1.0 <= age["webhooks"] < 30 and age["tryons"] == 0
        # No worker runs in this test: the queue holding work is consumed by nobody.
        assert unconsumed["webhooks"] == 1 and unconsumed["tryons"] == 0
        assert families["garmax_celery_broker_up"].samples[0].value == 1
        assert health.queues_pending()["webhooks"] == 1  # the scrape took nothing off the queue
    finally:
        celery_app.control.purge()


@pytest.mark.django_db
def test_an_unreachable_broker_is_a_reading_not_a_failed_scrape(metrics_on, monkeypatch):
    from infrastructure import health

    def down():
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(health, "queues_pending", down)
    families = {f.name: f for f in text_string_to_metric_families(scrape())}
    assert families["garmax_celery_broker_up"].samples[0].value == 0
    assert "garmax_celery_queue_length" not in families
