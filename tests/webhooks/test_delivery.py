import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import transaction
from kombu.exceptions import OperationalError
from standardwebhooks.webhooks import Webhook as StandardWebhook

from organizations.models import Organization
from tests.webhooks.factories import cart_completed_data, make_webhook
from tryons.events import CART_TRYON_COMPLETED, TRYON_FAILED
from webhooks import services, signing, tasks
from webhooks.models import Webhook, WebhookDelivery, WebhookEvent
from webhooks.services.leasing import slot_key

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_targets", "eager_tasks")]


def _record(organization, event=CART_TRYON_COMPLETED.name, data=None):
    with transaction.atomic():
        return services.webhook_event_record(
            organization_id=organization.id, event=event, data=data or cart_completed_data(organization)
        )


def _set_retries(organization, retries):
    Organization.objects.filter(pk=organization.pk).update(settings={"webhookRetries": retries})


def test_event_is_delivered_signed_both_ways_on_commit(
    organization, receiver, django_capture_on_commit_callbacks
):
    webhook = make_webhook(organization, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        event = _record(organization, data={**cart_completed_data(organization), "credits": 2.0})
    (request,) = receiver.wait_for(1)
    assert request.body == WebhookEvent.objects.get(pk=event.id).body.encode()
    payload = json.loads(request.body)
    assert payload["id"] == event.id and payload["event"] == CART_TRYON_COMPLETED.name
    assert payload["data"]["organizationId"] == organization.id
    assert list(payload["data"]) == [*cart_completed_data(organization), "credits"]  # order kept
    assert b'"credits":2}' in request.body  # never 2.0: Node's JSON.stringify would not print it
    assert request.headers["X-Webhook-Signature"] == signing.signature_hex(
        secret=webhook.secret, body=request.body
    )
    assert StandardWebhook(webhook.secret).verify(request.body, request.headers)["id"] == event.id
    assert request.headers["webhook-id"] == event.id
    delivery = WebhookDelivery.objects.get(event=event)
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    assert delivery.attempts.get().status_code == 200


def test_only_active_subscribed_endpoints_of_the_organization_get_a_delivery(
    organization, other_organization, receiver
):
    subscribed = make_webhook(organization, receiver.url, events=[CART_TRYON_COMPLETED.name])
    make_webhook(organization, receiver.url, events=[TRYON_FAILED.name])
    disabled = make_webhook(organization, receiver.url)
    services.webhook_update(webhook=disabled, is_active=False)
    make_webhook(other_organization, receiver.url)
    event = _record(organization)
    assert list(WebhookDelivery.objects.filter(event=event).values_list("webhook_id", flat=True)) == [
        subscribed.id
    ]


def test_nothing_is_recorded_when_the_state_change_rolls_back(organization, receiver):
    make_webhook(organization, receiver.url)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.webhook_event_record(
            organization_id=organization.id,
            event=CART_TRYON_COMPLETED.name,
            data=cart_completed_data(organization),
        )
        raise RuntimeError("the try-on transaction failed")
    assert not WebhookEvent.objects.exists() and not WebhookDelivery.objects.exists()


def test_a_500_is_retried_after_about_5_then_15_seconds(organization, receiver, clock):
    receiver.respond = lambda request: (500, {}, b"oops", 0)
    make_webhook(organization, receiver.url)
    started = clock.now
    event = _record(organization)  # no on-commit capture: the first attempt is run below, at t=0
    delivery = WebhookDelivery.objects.get(event=event)
    tasks.deliver_endpoint(delivery.webhook_id)
    offsets = []
    for _ in range(3):
        delivery.refresh_from_db()
        if delivery.next_attempt_at is None:
            break
        # Not due yet: a premature task does nothing.
        assert services.webhook_deliveries_send_due(webhook_id=delivery.webhook_id) == 0
        clock.advance_to(delivery.next_attempt_at)
        tasks.deliver_endpoint(delivery.webhook_id)
        offsets.append((clock.now - started).total_seconds())
    assert len(receiver.requests) == 4  # first attempt + the default 3 retries
    first_retry, second_retry, third_retry = offsets
    assert 5 <= first_retry <= 5.6
    assert 15 <= second_retry - first_retry <= 16.6
    assert 45 <= third_retry - second_retry <= 49.6
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert [a.status_code for a in delivery.attempts.all()] == [500] * 4
    assert delivery.attempts.first().response_body == "oops"
    webhook_ids = {r.headers["webhook-id"] for r in receiver.requests}
    assert webhook_ids == {event.id}  # constant across retries


def test_retry_after_on_429_is_honoured(organization, receiver, clock):
    receiver.respond = lambda request: (429, {"Retry-After": "120"}, b"", 0)
    make_webhook(organization, receiver.url)
    event = _record(organization)
    delivery = WebhookDelivery.objects.get(event=event)
    tasks.deliver_endpoint(delivery.webhook_id)
    delivery.refresh_from_db()
    assert (delivery.next_attempt_at - clock.now).total_seconds() == pytest.approx(120, abs=1)


@pytest.mark.parametrize("retry_after", ["²", "soon", "-5"])
def test_a_retry_after_that_is_no_number_or_date_leaves_the_usual_schedule(
    organization, receiver, clock, retry_after
):
    # "²" is a digit to str.isdigit(), and float("²") raised inside the delivery.
    receiver.respond = lambda request: (429, {"Retry-After": retry_after}, b"", 0)
    make_webhook(organization, receiver.url)
    event = _record(organization)
    delivery = WebhookDelivery.objects.get(event=event)
    tasks.deliver_endpoint(delivery.webhook_id)
    delivery.refresh_from_db()
    assert delivery.attempts.get().status_code == 429
    assert 5 <= (delivery.next_attempt_at - clock.now).total_seconds() <= 5.6


def test_ten_failed_deliveries_deactivate_the_endpoint_when_retries_are_zero(organization, receiver):
    _set_retries(organization, 0)
    receiver.respond = lambda request: (503, {}, b"", 0)
    webhook = make_webhook(organization, receiver.url)
    for n in range(10):
        webhook.refresh_from_db()
        assert webhook.is_active, f"disabled after only {n} failures"
        event = _record(organization)
        tasks.deliver_endpoint(WebhookDelivery.objects.get(event=event).webhook_id)
    webhook.refresh_from_db()
    assert not webhook.is_active and webhook.consecutive_failures == 10
    assert len(receiver.requests) == 10
    # Disabled endpoints get no new deliveries...
    _record(organization)
    assert WebhookDelivery.objects.filter(webhook=webhook).count() == 10
    # ...until the partner re-enables them, which also resets the streak.
    services.webhook_update(webhook=webhook, is_active=True)
    webhook.refresh_from_db()
    assert webhook.is_active and webhook.consecutive_failures == 0


def test_a_success_resets_the_failure_streak(organization, receiver):
    _set_retries(organization, 0)
    answers = iter([500, 500, 200])
    receiver.respond = lambda request: (next(answers), {}, b"", 0)
    webhook = make_webhook(organization, receiver.url)
    for expected in (1, 2, 0):
        event = _record(organization)
        tasks.deliver_endpoint(WebhookDelivery.objects.get(event=event).webhook_id)
        webhook.refresh_from_db()
        assert webhook.consecutive_failures == expected


def test_410_gone_disables_the_endpoint_at_once(organization, receiver):
    receiver.respond = lambda request: (410, {}, b"", 0)
    webhook = make_webhook(organization, receiver.url)
    event = _record(organization)
    tasks.deliver_endpoint(WebhookDelivery.objects.get(event=event).webhook_id)
    webhook.refresh_from_db()
    assert not webhook.is_active and "410" in webhook.disabled_reason
    assert WebhookDelivery.objects.get(event=event).status == WebhookDelivery.Status.FAILED


def test_a_redirect_is_a_failure_and_is_not_followed(organization, receiver, make_receiver):
    elsewhere = make_receiver()
    receiver.respond = lambda request: (307, {"Location": elsewhere.url}, b"", 0)
    make_webhook(organization, receiver.url)
    event = _record(organization)
    tasks.deliver_endpoint(WebhookDelivery.objects.get(event=event).webhook_id)
    delivery = WebhookDelivery.objects.get(event=event)
    assert delivery.last_status_code == 307 and delivery.status == WebhookDelivery.Status.PENDING
    assert elsewhere.requests == []


def test_only_the_first_kb_of_the_response_is_logged(organization, receiver):
    receiver.respond = lambda request: (200, {}, b"x" * 50_000, 0)
    make_webhook(organization, receiver.url)
    event = _record(organization)
    tasks.deliver_endpoint(WebhookDelivery.objects.get(event=event).webhook_id)
    assert WebhookDelivery.objects.get(event=event).attempts.get().response_body == "x" * 1024


def test_a_delivery_is_sent_once_however_many_tasks_race_for_it(organization, receiver):
    webhook = make_webhook(organization, receiver.url)
    _record(organization)
    for _ in range(3):
        tasks.deliver_endpoint(webhook.id)
    assert len(receiver.requests) == 1


def test_outbox_survives_a_broker_that_is_down_at_commit(
    organization, receiver, monkeypatch, django_capture_on_commit_callbacks
):
    make_webhook(organization, receiver.url)

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    with monkeypatch.context() as patched:
        patched.setattr(tasks.deliver_endpoint, "apply_async", broker_down)
        with django_capture_on_commit_callbacks(execute=True):
            event = _record(organization)  # the commit itself must not fail
        assert services.webhook_deliveries_dispatch_due(grace_seconds=0) == 0  # still down
    delivery = WebhookDelivery.objects.get(event=event)
    assert delivery.status == WebhookDelivery.Status.PENDING and receiver.requests == []
    # The broker is back; the beat sweeper finds the overdue delivery and it goes out.
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=delivery.next_attempt_at - timedelta(minutes=1)
    )
    assert tasks.dispatch_due_deliveries() == 1
    assert len(receiver.wait_for(1)) == 1
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED


def test_sweeper_leaves_fresh_deliveries_to_their_own_task(organization, receiver):
    make_webhook(organization, receiver.url)
    _record(organization)
    assert tasks.dispatch_due_deliveries() == 0
    assert receiver.requests == []


def test_an_endpoint_at_its_concurrency_cap_waits_without_using_an_attempt(organization, receiver):
    from django.core.cache import cache

    webhook = make_webhook(organization, receiver.url)
    for slot in range(settings.WEBHOOK_ENDPOINT_CONCURRENCY):
        cache.add(slot_key(webhook.id, slot), 1, 60)
    event = _record(organization)
    delivery = WebhookDelivery.objects.get(event=event)
    assert services.webhook_deliveries_send_due(webhook_id=delivery.webhook_id) == 0
    delivery.refresh_from_db()
    assert delivery.attempt_count == 0 and delivery.status == WebhookDelivery.Status.PENDING
    assert receiver.requests == []


def test_pending_deliveries_of_a_disabled_endpoint_stop(organization, receiver):
    webhook = make_webhook(organization, receiver.url)
    event = _record(organization)
    Webhook.objects.filter(pk=webhook.pk).update(is_active=False)
    tasks.deliver_endpoint(WebhookDelivery.objects.get(event=event).webhook_id)
    assert receiver.requests == []
    assert WebhookDelivery.objects.get(event=event).status == WebhookDelivery.Status.FAILED


def test_prune_deletes_old_finished_events_but_keeps_pending_ones(organization, receiver, clock):
    make_webhook(organization, receiver.url)
    finished = _record(organization)
    tasks.deliver_endpoint(WebhookDelivery.objects.get(event=finished).webhook_id)
    pending = _record(organization)
    clock.advance(31 * 24 * 3600)
    recent = _record(organization)
    assert tasks.prune_payloads() == 1
    assert set(WebhookEvent.objects.values_list("id", flat=True)) == {pending.id, recent.id}
