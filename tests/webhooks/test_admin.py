import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.admin.utils import quote
from django.urls import reverse

from tests.webhooks.factories import cart_completed_delivered_once, make_webhook
from webhooks import services, tasks
from webhooks.models import Webhook, WebhookDelivery

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_targets", "eager_tasks")]

CHANGELIST = "admin:webhooks_webhook_changelist"


def _fail_one_delivery_with_all_its_retries(organization, receiver, clock) -> WebhookDelivery:
    receiver.respond = lambda request: (500, {}, b"down", 0)
    delivery = cart_completed_delivered_once(organization)
    while delivery.next_attempt_at is not None:
        clock.advance_to(delivery.next_attempt_at)
        tasks.deliver_endpoint(delivery.webhook_id)
        delivery.refresh_from_db()
    return delivery


def test_failure_streak_in_admin_counts_deliveries_as_the_api_does_and_shows_the_attempts(
    client, support_staff, organization, receiver, clock, partner_client
):
    webhook = make_webhook(organization, receiver.url)
    delivery = _fail_one_delivery_with_all_its_retries(organization, receiver, clock)
    assert delivery.status == WebhookDelivery.Status.FAILED and delivery.attempts.count() == 4
    api_view = partner_client(organization).get(f"/api/v1/webhooks/{webhook.id}").json()
    assert api_view["consecutiveFailures"] == 1  # 10 failed deliveries disable the endpoint

    client.force_login(support_staff)
    detail = client.get(reverse("admin:webhooks_webhook_change", args=[quote(webhook.pk)])).content.decode()
    assert "Failed deliveries in a row" in detail and "1 of 10" in detail
    assert "Failed attempts since the last success" in detail
    assert '<div class="readonly">4</div>' in detail
    listing = client.get(reverse(CHANGELIST)).content.decode()
    assert "1 of 10" in listing


def test_reenabling_in_admin_leaves_history(client, support_staff, organization, receiver):
    webhook = make_webhook(organization, receiver.url)
    services.webhook_update(webhook=webhook, is_active=False)
    client.force_login(support_staff)
    client.post(reverse(CHANGELIST), {"action": "reenable_selected", ACTION_CHECKBOX_NAME: [webhook.pk]})
    assert Webhook.objects.get(pk=webhook.pk).is_active
    entry = LogEntry.objects.get(object_id=webhook.pk)
    assert entry.user == support_staff and entry.action_flag == CHANGE
    assert "Re-enabled" in entry.get_change_message()
    assert "None available" not in client.get(reverse("admin:index")).content.decode()


def test_send_test_message_keeps_the_url_as_written_and_leaves_history(
    client, support_staff, organization, receiver
):
    webhook = make_webhook(organization, receiver.url)
    client.force_login(support_staff)
    response = client.post(
        reverse(CHANGELIST), {"action": "send_test_event", ACTION_CHECKBOX_NAME: [webhook.pk]}, follow=True
    )
    (message,) = [str(m) for m in response.context["messages"]]
    assert message.startswith(f"Test event to {receiver.url}: delivered (HTTP 200")
    page = response.content.decode()
    assert receiver.url in page and "Http://" not in page
    assert len(receiver.requests) == 1
    entry = LogEntry.objects.get(object_id=webhook.pk)
    assert entry.get_change_message().startswith("Sent a test event: delivered (HTTP 200")


def test_the_endpoint_page_shows_each_deliverys_code_and_truncated_response(
    client, support_staff, organization, receiver
):
    webhook = make_webhook(organization, receiver.url)
    receiver.respond = lambda request: (500, {}, b"x" * 300 + b"TAIL", 0)
    cart_completed_delivered_once(organization)
    client.force_login(support_staff)
    page = client.get(reverse("admin:webhooks_webhook_change", args=[quote(webhook.pk)])).content.decode()
    assert "Last response (truncated)" in page
    assert "x" * 200 + "…" in page and "TAIL" not in page


def test_support_redelivers_a_delivery_as_a_new_one_with_history(
    client, support_staff, organization, receiver
):
    make_webhook(organization, receiver.url)
    delivery = cart_completed_delivered_once(organization)
    client.force_login(support_staff)
    client.post(
        reverse("admin:webhooks_webhookdelivery_changelist"),
        {"action": "redeliver_selected", ACTION_CHECKBOX_NAME: [delivery.pk]},
    )
    again = WebhookDelivery.objects.exclude(pk=delivery.pk).get(event=delivery.event)
    assert again.status == WebhookDelivery.Status.PENDING
    tasks.deliver_endpoint(again.webhook_id)  # what the wake-up queued after commit runs
    again.refresh_from_db()
    assert again.status == WebhookDelivery.Status.SUCCEEDED
    assert LogEntry.objects.get(object_id=again.pk).user == support_staff
