"""One task per endpoint: wake-ups coalesced, due deliveries claimed and logged in chunks."""

import json

import pytest
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from organizations.models import Organization
from tests.concurrency import run_concurrently
from tests.webhooks.factories import cart_completed_data, make_webhook
from tryons.events import CART_TRYON_COMPLETED
from webhooks import services, tasks
from webhooks.models import Webhook, WebhookDelivery
from webhooks.services import delivery as delivery_service
from webhooks.services.leasing import slot_key

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_targets")]


def _record(organization, n=0):
    with transaction.atomic():
        return services.webhook_event_record(
            organization_id=organization.id,
            event=CART_TRYON_COMPLETED.name,
            data={**cart_completed_data(organization), "n": n},
        )


@pytest.fixture
def queued(monkeypatch):
    """Wake-ups that would go to the broker, recorded instead of sent (no worker runs in these tests)."""
    calls = []
    monkeypatch.setattr(
        tasks.deliver_endpoint, "apply_async", lambda args, **kwargs: calls.append((args[0], kwargs))
    )
    return calls


def _sent_numbers(receiver):
    return [json.loads(r.body)["data"]["n"] for r in receiver.requests]


def test_one_task_sends_every_due_delivery_of_its_endpoint_oldest_first(organization, receiver, queued):
    webhook = make_webhook(organization, receiver.url)
    for n in range(5):
        _record(organization, n)
    assert tasks.deliver_endpoint(webhook.id) == 5
    assert _sent_numbers(receiver) == [0, 1, 2, 3, 4]
    deliveries = WebhookDelivery.objects.filter(webhook=webhook)
    assert {(d.status, d.attempt_count, d.last_status_code) for d in deliveries} == {
        (WebhookDelivery.Status.SUCCEEDED, 1, 200)
    }
    assert all(d.attempts.get().status_code == 200 and d.delivered_at for d in deliveries)
    assert tasks.deliver_endpoint(webhook.id) == 0  # nothing is sent twice
    assert len(receiver.requests) == 5


def test_a_backlog_bigger_than_a_chunk_queues_a_helper_and_goes_out_once(
    organization, receiver, queued, monkeypatch
):
    monkeypatch.setattr(delivery_service, "DELIVERY_CHUNK", 3)
    webhook = make_webhook(organization, receiver.url)
    for n in range(7):
        _record(organization, n)
    assert tasks.deliver_endpoint(webhook.id) == 7
    assert sorted(_sent_numbers(receiver)) == list(range(7))
    assert [webhook_id for webhook_id, _ in queued] == [webhook.id]  # one helper, on the first full chunk


def test_deliveries_not_due_or_of_another_endpoint_are_left_alone(
    organization, receiver, make_receiver, queued, clock
):
    other = make_receiver()
    webhook = make_webhook(organization, receiver.url, events=[CART_TRYON_COMPLETED.name])
    make_webhook(organization, other.url, events=[CART_TRYON_COMPLETED.name])
    _record(organization)
    later = _record(organization, 1)
    WebhookDelivery.objects.filter(event=later, webhook=webhook).update(
        next_attempt_at=clock.now.replace(year=clock.now.year + 1)
    )
    assert tasks.deliver_endpoint(webhook.id) == 1
    assert len(receiver.requests) == 1 and other.requests == []


def test_an_endpoint_at_its_concurrency_cap_gets_nothing_sent(organization, receiver, queued, settings):
    webhook = make_webhook(organization, receiver.url)
    for slot in range(settings.WEBHOOK_ENDPOINT_CONCURRENCY):
        cache.add(slot_key(webhook.id, slot), 1, 60)
    _record(organization)
    assert tasks.deliver_endpoint(webhook.id) == 0
    assert receiver.requests == []
    delivery = WebhookDelivery.objects.get(webhook=webhook)
    assert delivery.status == WebhookDelivery.Status.PENDING and delivery.attempt_count == 0


def test_a_slot_holder_looks_for_due_deliveries_again_when_it_lets_go(
    organization, receiver, queued, monkeypatch
):
    monkeypatch.setattr(delivery_service, "DRAIN_BUDGET_SECONDS", 0)  # takes a slot, lets go before sending
    webhook = make_webhook(organization, receiver.url)
    _record(organization)
    _record(organization, 1)
    assert services.webhook_deliveries_send_due(webhook_id=webhook.id) == 0
    # Both were due the whole time: whoever was turned away at the cap relies on this look.
    assert [webhook_id for webhook_id, _ in queued] == [webhook.id]


def test_a_410_stops_the_chunk_and_the_rest_fail_with_the_endpoint(organization, receiver, queued):
    receiver.respond = lambda request: (410, {}, b"", 0)
    webhook = make_webhook(organization, receiver.url)
    for n in range(3):
        _record(organization, n)
    tasks.deliver_endpoint(webhook.id)
    assert len(receiver.requests) == 1
    webhook.refresh_from_db()
    assert not webhook.is_active
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {WebhookDelivery.Status.FAILED}
    assert WebhookDelivery.objects.filter(last_error="Endpoint is disabled.").count() == 2


def test_a_slow_endpoint_hands_back_what_it_cannot_start_within_the_lease(
    organization, receiver, queued, monkeypatch
):
    monkeypatch.setattr(delivery_service, "SEND_WINDOW_SECONDS", 0.2)
    monkeypatch.setattr(delivery_service, "DRAIN_BUDGET_SECONDS", 0.1)  # one chunk, then re-queue
    receiver.respond = lambda request: (200, {}, b"", 0.3)
    webhook = make_webhook(organization, receiver.url)
    for n in range(3):
        _record(organization, n)
    assert tasks.deliver_endpoint(webhook.id) == 1
    assert _sent_numbers(receiver) == [0]
    handed_back = WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING)
    assert handed_back.count() == 2
    # Due again at once (not at the end of the lease), and the endpoint is woken for them.
    assert all(d.next_attempt_at <= timezone.now() for d in handed_back)
    assert all(d.attempt_count == 0 for d in handed_back)
    assert [webhook_id for webhook_id, _ in queued] == [webhook.id]


@pytest.mark.parametrize(("answers", "streak"), [((500, 200), 0), ((200, 500), 1), ((500, 500), 2)])
def test_the_failure_streak_follows_the_order_a_chunk_was_sent_in(
    organization, receiver, queued, answers, streak
):
    Organization.objects.filter(pk=organization.pk).update(settings={"webhookRetries": 0})
    replies = iter(answers)
    receiver.respond = lambda request: (next(replies), {}, b"", 0)
    webhook = make_webhook(organization, receiver.url)
    for n in range(2):
        _record(organization, n)
    tasks.deliver_endpoint(webhook.id)
    webhook.refresh_from_db()
    assert webhook.consecutive_failures == streak


def test_a_failed_attempt_in_a_chunk_wakes_the_endpoint_when_its_retry_is_due(
    organization, receiver, queued, clock, django_capture_on_commit_callbacks
):
    receiver.respond = lambda request: (500, {}, b"", 0)
    webhook = make_webhook(organization, receiver.url)
    _record(organization)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.deliver_endpoint(webhook.id)
    delivery = WebhookDelivery.objects.get(webhook=webhook)
    delay = (delivery.next_attempt_at - clock.now).total_seconds()
    assert 5 <= delay <= 5.5
    ((woken, options),) = queued
    assert woken == webhook.id and delay <= options["countdown"] <= delay + 0.5


def test_without_a_shared_cache_every_commit_wakes_the_endpoint(
    organization, receiver, queued, settings, django_capture_on_commit_callbacks
):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    webhook = make_webhook(organization, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(3):
            _record(organization, n)
    assert [webhook_id for webhook_id, _ in queued] == [webhook.id] * 3


@pytest.mark.redis
def test_hundreds_of_events_for_one_endpoint_queue_one_wake_up(
    organization, receiver, queued, django_capture_on_commit_callbacks
):
    webhook = make_webhook(organization, receiver.url)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        for n in range(300):
            _record(organization, n)
    assert [webhook_id for webhook_id, _ in queued] == [webhook.id]
    # A sending task clears the marker before it looks, so the next commit wakes the endpoint again.
    tasks.deliver_endpoint(webhook.id)
    queued.clear()  # the helper it queued for the backlog
    with django_capture_on_commit_callbacks(execute=True):
        _record(organization, 300)
    assert [webhook_id for webhook_id, _ in queued] == [webhook.id]
    assert len(receiver.requests) == 300  # the last one is still waiting for its task


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_senders_send_each_delivery_exactly_once(organization, receiver, queued, monkeypatch):
    monkeypatch.setattr(delivery_service, "DELIVERY_CHUNK", 5)
    webhook = make_webhook(organization, receiver.url)
    with transaction.atomic():
        for n in range(80):
            _record(organization, n)
    run_concurrently(lambda _: services.webhook_deliveries_send_due(webhook_id=webhook.id), 4)
    assert sorted(_sent_numbers(receiver)) == list(range(80))
    assert (
        WebhookDelivery.objects.filter(status=WebhookDelivery.Status.SUCCEEDED, attempt_count=1).count() == 80
    )
    assert Webhook.objects.get(pk=webhook.pk).deliveries.filter(attempts__number=2).count() == 0
