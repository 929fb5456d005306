"""A worker started as the README says, with no `-Q`, does every kind of work; readiness names a queue with
work that no running worker consumes. Real worker processes on PostgreSQL and Redis."""

import json
import os
import subprocess

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from config.celery import app as celery_app
from infrastructure import health
from tests import workers
from tests.concurrency import wait_until
from tests.tryons import conftest as tryon_fixtures
from tests.webhooks import conftest as webhook_fixtures
from tests.webhooks.factories import make_webhook
from tryons.models import CartTryOnSession
from webhooks.signing import signature_hex

# The try-on suite's stored photo and garment CDN, the webhook suite's receiver.
photo_of = tryon_fixtures.photo_of
garment_server = tryon_fixtures.garment_server
media_root = tryon_fixtures.media_root
receiver = webhook_fixtures.receiver


@pytest.fixture
def start_worker(media_root, tmp_path):
    """Start `celery -A config worker <args>` on this test's database and Redis; stopped after the test."""
    started = []

    def start(*args: str) -> subprocess.Popen:
        env = {
            **os.environ,
            "DATABASE_URL": workers.worker_database_url(),
            "MEDIA_ROOT": media_root,
            "OUTBOUND_ALLOW_PRIVATE_NETWORKS": "true",
        }
        log = tmp_path / f"worker{len(started)}.log"
        process = workers.start_worker(*args, env=env, log=log)
        started.append((process, log))
        return process

    yield start
    for process, log in started:
        workers.stop_worker(process)
        print(log.read_text()[-3000:])  # shown by pytest when the test failed


@pytest.fixture(autouse=True)
def loopback_allowed(settings):
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True  # the garment CDN and webhook receiver are on loopback


@pytest.fixture
def empty_queues():
    """Messages other tests left in this Redis database must not count as work waiting here."""
    celery_app.control.purge()
    cache.delete(health.CONSUMERS_CACHE_KEY)


def create_cart(organization, partner_client, photo, garment_server) -> dict:
    response = partner_client(organization).post(
        "/api/v1/cart-tryons",
        {
            "cartId": "cart_plain_worker",
            "customerPhotoS3Key": photo.storage_key,
            "cartItems": [
                tryon_fixtures.cart_item(garment_server.url(f"/garment-{n}.png"), n) for n in (1, 2)
            ],
            "renderQuality": "sd",
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    return response.json()


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_started_without_queue_list_renders_the_cart_and_delivers_its_webhook(
    organization, partner_client, photo_of, garment_server, receiver, empty_queues, start_worker
):
    webhook = make_webhook(organization, receiver.url, events=["cart_tryon.completed"])
    session = create_cart(organization, partner_client, photo_of(organization), garment_server)

    start_worker("--loglevel", "INFO")  # exactly the README's command: no -Q

    wait_until(
        lambda: CartTryOnSession.objects.get(pk=session["id"]).status == "completed",
        timeout=90,
        message=f"the cart was not completed: {session['id']}",
    )
    finished = partner_client(organization).get(f"/api/v1/cart-tryons/{session['id']}").json()
    assert [item["status"] for item in finished["cartItems"]] == ["completed", "completed"]
    (delivery,) = receiver.wait_for(1, timeout=60)
    payload = json.loads(delivery.body)
    assert (payload["event"], payload["data"]["sessionId"]) == ("cart_tryon.completed", session["id"])
    assert delivery.headers["X-Webhook-Signature"] == signature_hex(secret=webhook.secret, body=delivery.body)
    # Every queue has a consumer and nothing is left waiting.
    cache.delete(health.CONSUMERS_CACHE_KEY)
    assert health.queues_consumed() == {"celery", "tryons", "webhooks", "bulk"}


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_readiness_names_the_queue_with_work_that_no_running_worker_consumes(
    organization, partner_client, photo_of, garment_server, empty_queues, start_worker
):
    start_worker("-Q", "celery,webhooks", "--loglevel", "INFO")  # a worker that leaves try-ons out
    session = create_cart(organization, partner_client, photo_of(organization), garment_server)

    response = APIClient().get("/health/ready")

    assert response.status_code == 200, "the web node itself can serve; the pipeline is what is stalled"
    body = response.json()
    assert body["status"] == "degraded"
    queues = body["checks"]["queues"]
    assert queues["status"] == "warning"
    assert queues["unconsumed"] == ["tryons"]
    assert queues["pending"]["tryons"] == 1
    assert CartTryOnSession.objects.get(pk=session["id"]).status == "queued"
