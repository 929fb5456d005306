"""An endpoint disabled after its failures is announced (issue 32, "Notifications"): one email to the
organization's technical contacts (members whose role manages webhooks) and one webhook_endpoint.disabled
event, delivered to the organization's other enabled endpoints that subscribed to it, never to the disabled
one nor to another organization's."""

import json

import pytest
from django.conf import settings
from django.core import mail
from django.db import transaction

from organizations.models import Membership, Organization
from tests.factories import make_organization
from tests.webhooks.factories import cart_completed_data, make_webhook
from tryons.events import CART_TRYON_COMPLETED
from webhooks import services, tasks
from webhooks.events import WEBHOOK_ENDPOINT_DISABLED
from webhooks.models import Webhook, WebhookDelivery, WebhookEvent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_targets", "eager_tasks")]


@pytest.fixture
def team(organization, member_of):
    """The owner, plus one member of each other role: who hears about a disabled endpoint."""
    owner = organization.memberships.get(role="owner").user
    owner.email = "owner@acme.example"
    owner.save()
    people = {role: member_of(organization, role=role, email=f"{role}@acme.example")
              for role in ("admin", "developer", "billing", "viewer")}  # fmt: skip
    people["owner"] = owner
    inactive = member_of(organization, role="developer", email="gone@acme.example")
    inactive.is_active = False
    inactive.save()
    return people


def _deliver_once(organization, webhook_id, capture):
    """Record a cart event and run the endpoint's delivery with what it queues after commit (wake-ups of
    other endpoints, the email task) run inline."""
    with capture(execute=True):
        with transaction.atomic():
            services.webhook_event_record(
                organization_id=organization.id,
                event=CART_TRYON_COMPLETED.name,
                data=cart_completed_data(organization),
            )
        tasks.deliver_endpoint(webhook_id)


def _disabled_events(organization):
    return [json.loads(e.body) for e in WebhookEvent.objects.filter(
        organization=organization, event=WEBHOOK_ENDPOINT_DISABLED.name)]  # fmt: skip


def test_a_410_disables_the_endpoint_emails_the_technical_contacts_once_and_tells_subscribers(
    organization, other_organization, team, make_receiver, django_capture_on_commit_callbacks
):
    gone, listener, uninterested, stranger = (make_receiver() for _ in range(4))
    gone.respond = lambda request: (410, {}, b"", 0)
    failing = make_webhook(
        organization, gone.url, events=[CART_TRYON_COMPLETED.name, WEBHOOK_ENDPOINT_DISABLED.name]
    )
    subscribed = make_webhook(organization, listener.url, events=[WEBHOOK_ENDPOINT_DISABLED.name])
    make_webhook(organization, uninterested.url, events=[CART_TRYON_COMPLETED.name])
    make_webhook(other_organization, stranger.url)

    _deliver_once(organization, failing.id, django_capture_on_commit_callbacks)

    failing.refresh_from_db()
    assert not failing.is_active and "410" in failing.disabled_reason
    [event] = _disabled_events(organization)
    assert event["data"] == {
        "webhookId": failing.id,
        "url": gone.url,
        "organizationId": organization.id,
        "reason": failing.disabled_reason,
        "consecutiveFailures": 0,
        "disabledAt": failing.disabled_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    # Delivered to the subscribed endpoint only: not the disabled one, not the uninterested one, not
    # another organization's.
    deliveries = WebhookDelivery.objects.filter(event_id=event["id"])
    assert [d.webhook_id for d in deliveries] == [subscribed.id]
    [received] = listener.wait_for(1)
    assert json.loads(received.body)["event"] == WEBHOOK_ENDPOINT_DISABLED.name
    assert all(json.loads(r.body)["event"] != WEBHOOK_ENDPOINT_DISABLED.name for r in uninterested.requests)
    assert stranger.requests == [] and len(gone.requests) == 1
    assert _disabled_events(other_organization) == []

    [email] = mail.outbox
    assert sorted(email.to) == ["admin@acme.example", "developer@acme.example", "owner@acme.example"]
    assert "Acme Fashion" in email.subject
    assert gone.url in email.body and organization.id in email.body and "410" in email.body
    assert f"{settings.PUBLIC_BASE_URL}/portal/webhooks/" in email.body
    assert failing.secret not in email.body


def test_ten_failures_in_a_row_disable_once_and_announce_once(
    organization, team, make_receiver, django_capture_on_commit_callbacks
):
    Organization.objects.filter(pk=organization.pk).update(settings={"webhookRetries": 0})
    down, listener = make_receiver(), make_receiver()
    down.respond = lambda request: (503, {}, b"", 0)
    failing = make_webhook(organization, down.url, events=[CART_TRYON_COMPLETED.name])
    make_webhook(organization, listener.url, events=[WEBHOOK_ENDPOINT_DISABLED.name])

    for _ in range(12):
        _deliver_once(organization, failing.id, django_capture_on_commit_callbacks)

    failing.refresh_from_db()
    assert not failing.is_active and failing.consecutive_failures == 10
    [event] = _disabled_events(organization)
    assert event["data"]["consecutiveFailures"] == 10 and "10 consecutive" in event["data"]["reason"]
    assert len(listener.wait_for(1)) == 1
    assert len(mail.outbox) == 1 and "10 consecutive deliveries failed" in mail.outbox[0].body


def test_a_partner_disabling_an_endpoint_is_not_announced(organization, team, receiver):
    webhook = make_webhook(organization, receiver.url)
    services.webhook_update(webhook=webhook, is_active=False)
    assert _disabled_events(organization) == [] and mail.outbox == []


def test_the_email_is_skipped_when_the_endpoint_was_re_enabled_before_it_went(
    organization, team, receiver, django_capture_on_commit_callbacks
):
    receiver.respond = lambda request: (410, {}, b"", 0)
    webhook = make_webhook(organization, receiver.url, events=[CART_TRYON_COMPLETED.name])
    with django_capture_on_commit_callbacks() as queued:
        with transaction.atomic():
            services.webhook_event_record(
                organization_id=organization.id,
                event=CART_TRYON_COMPLETED.name,
                data=cart_completed_data(organization),
            )
        tasks.deliver_endpoint(webhook.id)
    disabled_at = Webhook.objects.get(pk=webhook.pk).disabled_at
    services.webhook_update(webhook=Webhook.objects.get(pk=webhook.pk), is_active=True)
    for callback in queued:
        callback()
    assert mail.outbox == []
    assert (
        services.webhook_disabled_email_send(webhook_id=webhook.id, disabled_at=disabled_at.isoformat())
        is False
    )


def test_a_sandbox_endpoint_emails_the_live_organizations_contacts_saying_test_mode(
    organization, team, receiver, django_capture_on_commit_callbacks
):
    from organizations.services import organization_sandbox

    sandbox = organization_sandbox(organization=organization)
    receiver.respond = lambda request: (410, {}, b"", 0)
    webhook = make_webhook(sandbox, receiver.url, events=[CART_TRYON_COMPLETED.name])
    _deliver_once(sandbox, webhook.id, django_capture_on_commit_callbacks)
    [email] = mail.outbox
    assert "(test mode)" in email.body and organization.id in email.body and sandbox.id not in email.body
    [event] = _disabled_events(sandbox)
    assert event["livemode"] is False and event["data"]["organizationId"] == organization.id


def test_no_technical_contact_means_no_email_but_the_event_still_goes(
    member_of, make_receiver, django_capture_on_commit_callbacks
):
    shop = make_organization(name="Quiet Shop")
    Membership.objects.filter(organization=shop).update(role="billing")  # nobody manages webhooks
    gone = make_receiver()
    gone.respond = lambda request: (410, {}, b"", 0)
    webhook = make_webhook(shop, gone.url, events=[CART_TRYON_COMPLETED.name])
    _deliver_once(shop, webhook.id, django_capture_on_commit_callbacks)
    assert len(_disabled_events(shop)) == 1 and mail.outbox == []


def test_a_mail_server_outage_is_retried_until_the_email_goes(
    organization, team, receiver, settings, django_capture_on_commit_callbacks
):
    from tests.organizations.mail_backends import Down

    settings.EMAIL_BACKEND = "tests.organizations.mail_backends.Down"
    Down.failures = 2
    receiver.respond = lambda request: (410, {}, b"", 0)
    webhook = make_webhook(organization, receiver.url, events=[CART_TRYON_COMPLETED.name])
    _deliver_once(organization, webhook.id, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1


def test_an_organization_name_stored_with_a_newline_cannot_break_the_email(
    organization, team, receiver, django_capture_on_commit_callbacks
):
    Organization.objects.filter(pk=organization.pk).update(name="Org B\nBcc: attacker@evil.example")
    receiver.respond = lambda request: (410, {}, b"", 0)
    webhook = make_webhook(organization, receiver.url, events=[CART_TRYON_COMPLETED.name])
    _deliver_once(organization, webhook.id, django_capture_on_commit_callbacks)
    [email] = mail.outbox
    assert "\n" not in email.subject and email.bcc == []
