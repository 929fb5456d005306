"""Deliveries through a real Celery worker process on PostgreSQL and Redis."""

import os
import time

import pytest
from django.db import transaction

from organizations.models import Organization
from tests.concurrency import wait_until
from tests.webhooks.factories import cart_completed_data, make_webhook
from tests.workers import start_worker, stop_worker, worker_database_url
from tryons.events import CART_TRYON_COMPLETED
from webhooks import services
from webhooks.models import WebhookDelivery

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("private_targets"),
]

WORKER_TIMEOUT_SECONDS = 6
ENDPOINT_CONCURRENCY = 2  # of the worker's 3 threads: one is always left for other endpoints


@pytest.fixture
def worker(tmp_path):
    """`celery -A config worker` on the webhooks queue, using this test's database and Redis."""
    env = {
        **os.environ,
        "DATABASE_URL": worker_database_url(),
        "OUTBOUND_ALLOW_PRIVATE_NETWORKS": "true",
        "WEBHOOK_TIMEOUT_SECONDS": str(WORKER_TIMEOUT_SECONDS),
        "WEBHOOK_ENDPOINT_CONCURRENCY": str(ENDPOINT_CONCURRENCY),
    }
    log = tmp_path / "worker.log"
    process = start_worker(
        "-Q", "webhooks", "-P", "threads", "-c", "3", "--loglevel", "INFO", env=env, log=log
    )
    yield process
    stop_worker(process, timeout=10)
    print(log.read_text()[-5000:])  # shown by pytest when the test failed


def _record(organization):
    with transaction.atomic():
        return services.webhook_event_record(
            organization_id=organization.id,
            event=CART_TRYON_COMPLETED.name,
            data=cart_completed_data(organization),
        )


def test_worker_retries_a_500_after_about_5_and_15_seconds(organization, receiver, worker):
    receiver.respond = lambda request: (500, {}, b"", 0)
    Organization.objects.filter(pk=organization.pk).update(settings={"webhookRetries": 2})
    make_webhook(organization, receiver.url)
    event = _record(organization)
    requests = receiver.wait_for(3, timeout=30)
    assert len(requests) == 3
    gaps = [requests[1].at - requests[0].at, requests[2].at - requests[1].at]
    assert 4.5 <= gaps[0] <= 7.5, gaps
    assert 14.5 <= gaps[1] <= 18.5, gaps
    delivery = wait_until(
        lambda: WebhookDelivery.objects.filter(event=event, status=WebhookDelivery.Status.FAILED).first(),
        timeout=5,
    )
    assert delivery.status == WebhookDelivery.Status.FAILED and delivery.attempt_count == 3


def test_a_hanging_endpoint_does_not_delay_another(organization, make_receiver, worker):
    hanging, healthy = make_receiver(), make_receiver()
    hanging.respond = lambda request: (200, {}, b"", 60)  # never answers within the timeout
    make_webhook(organization, hanging.url, events=[CART_TRYON_COMPLETED.name])
    for _ in range(6):
        _record(organization)  # six deliveries queued for the hanging endpoint first
    hanging.wait_for(1, timeout=10)
    assert not healthy.requests
    healthy_hook = make_webhook(organization, healthy.url, events=["tryon.completed"])
    with transaction.atomic():
        recorded_at = time.monotonic()
        services.webhook_event_record(organization_id=organization.id, event="tryon.completed", data={"n": 1})
    (request,) = healthy.wait_for(1, timeout=WORKER_TIMEOUT_SECONDS * 3)
    assert request.at - recorded_at < 3.0, "the healthy endpoint waited behind the hanging one"
    # The hanging endpoint held at most its cap of worker slots.
    assert len(hanging.requests) <= ENDPOINT_CONCURRENCY
    wait_until(
        lambda: WebhookDelivery.objects.get(webhook=healthy_hook).status == WebhookDelivery.Status.SUCCEEDED,
        timeout=5,
        message="the healthy delivery was never recorded as succeeded",
    )


def test_worker_sends_a_backlog_for_one_endpoint_once_each_with_a_few_tasks(
    organization, receiver, worker, tmp_path
):
    webhook = make_webhook(organization, receiver.url)
    with transaction.atomic():
        events = [
            services.webhook_event_record(
                organization_id=organization.id, event=CART_TRYON_COMPLETED.name, data={"n": n}
            )
            for n in range(200)
        ]
    requests = receiver.wait_for(200, timeout=60)
    assert sorted(r.headers["webhook-id"] for r in requests) == sorted(e.id for e in events)
    deliveries = WebhookDelivery.objects.filter(webhook=webhook)
    wait_until(
        lambda: deliveries.filter(status=WebhookDelivery.Status.SUCCEEDED, attempt_count=1).count() == 200,
        timeout=10,
        message="not every delivery was logged as succeeded",
    )
    time.sleep(1)  # anything sent twice would arrive by now (an absence: nothing to poll for)
    assert len(receiver.requests) == 200
    tasks_run = (tmp_path / "worker.log").read_text().count("] received")
    # One wake-up, helpers up to the slot cap, a few wake-ups while the burst was being queued; not 200.
    assert 1 <= tasks_run <= 20, tasks_run
