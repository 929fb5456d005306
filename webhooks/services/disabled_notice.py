"""An endpoint disabled after its failures is announced: a `webhook_endpoint.disabled` event to the
organization's other subscribed endpoints, and one email to its technical contacts (the members whose
role manages webhooks; organizations.contacts), naming the endpoint's URL and linking to the portal.

The email task (webhooks.tasks) calls these services, so they queue it by its name in the Celery app's
registry (WebhooksConfig.ready imports the tasks module), never by importing it back.
"""

import logging
from datetime import datetime

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from api.events import event_emit
from api.text import display_text
from api.timestamps import timestamp_text
from config.celery import app as celery_app
from organizations.contacts import member_emails_with_permission
from organizations.models import Organization
from organizations.roles import Permission
from webhooks import events
from webhooks.models import Webhook

logger = logging.getLogger("garmax.webhooks")

SEND_DISABLED_EMAIL_TASK = "webhooks.send_endpoint_disabled_email"
PORTAL_WEBHOOKS_PATH = "/portal/webhooks/"


def webhook_disabled_announce(*, webhook_id: str) -> None:
    """Call inside the transaction whose conditional UPDATE disabled the endpoint (so it runs once per
    disabling, whatever the concurrency): the event is recorded in that transaction, and reaches only the
    endpoints still enabled (this one no longer is); the email is queued once it commits."""
    webhook = Webhook.objects.get(pk=webhook_id)
    event_emit(events.WEBHOOK_ENDPOINT_DISABLED, organization_id=webhook.organization_id, webhook=webhook)
    disabled_at = webhook.disabled_at
    transaction.on_commit(lambda: _email_queue(webhook_id, disabled_at))


def _email_queue(webhook_id: str, disabled_at: datetime) -> None:
    try:
        celery_app.tasks[SEND_DISABLED_EMAIL_TASK].delay(webhook_id, disabled_at.isoformat())
    except Exception as exc:
        # The event is in the outbox already and the endpoint's page says it is disabled.
        logger.warning(
            "Could not queue the disabled-endpoint email for %s: %s", webhook_id, type(exc).__name__
        )


class DisabledNoticeFailed(Exception):
    """The mail backend did not take the email; the message names the error's type only (the original
    error can quote headers holding the partner's organization name)."""

    def __str__(self) -> str:
        return self.args[0]


def webhook_disabled_email_send(*, webhook_id: str, disabled_at: str) -> bool:
    """Email the technical contacts that this endpoint was disabled at `disabled_at`; returns whether an
    email went. Nothing is sent when the endpoint was deleted, re-enabled or disabled again since (the news
    is stale or another email tells it), or nobody has an email. A mail-backend error raises
    DisabledNoticeFailed for the task to retry."""
    webhook = Webhook.objects.select_related("organization").filter(pk=webhook_id, is_active=False).first()
    if webhook is None or webhook.disabled_at is None or webhook.disabled_at.isoformat() != disabled_at:
        return False
    recipients = member_emails_with_permission(
        organization_id=webhook.organization_id, permission=Permission.MANAGE_WEBHOOKS
    )
    if not recipients:
        return False
    organization: Organization = webhook.organization
    name = display_text(organization.name)
    mode = "" if organization.livemode else " (test mode)"
    organization_id = organization.sandbox_of_id or organization.id
    url = display_text(webhook.url)
    try:
        send_mail(
            subject=f"GarmaxAI: a webhook endpoint of {name} was disabled",
            message=(
                f"The webhook endpoint {url}{mode} of your organization {name} ({organization_id}) was "
                f"disabled on {timestamp_text(webhook.disabled_at)}: "
                f"{display_text(webhook.disabled_reason)}\n\n"
                "No events are delivered to it until it is re-enabled; the organization's other endpoints "
                f"subscribed to {events.WEBHOOK_ENDPOINT_DISABLED.name} were told too.\n"
                f"Fix the endpoint, then re-enable it and replay what it missed: "
                f"{settings.PUBLIC_BASE_URL}{PORTAL_WEBHOOKS_PATH}\n"
                f"(or PATCH /api/v1/webhooks/{webhook.id} with isActive true, then POST "
                f"/api/v1/webhooks/{webhook.id}/recover).\n\n"
                "You receive this as a member who manages the organization's webhooks.\n"
            ),
            from_email=None,
            recipient_list=recipients,
        )
    except Exception as exc:
        raise DisabledNoticeFailed(
            f"disabled-endpoint email for {webhook_id}: {type(exc).__name__}"
        ) from None
    return True
