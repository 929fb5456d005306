"""Webhook endpoints: create, change, enable, delete, and rotate the signing secret."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from api.errors import ValidationError
from api.events import subscribable_event_names
from infrastructure.outbound import OutboundBlocked, check_url
from webhooks import signing
from webhooks.custom_headers import custom_headers_merge
from webhooks.models import Webhook
from webhooks.retry_policy import retry_policy_validate

ROTATION_GRACE = timedelta(hours=24)


def _validate_url(url: str) -> str:
    try:
        check_url(url)
    except OutboundBlocked as exc:
        raise ValidationError(details={"url": [str(exc)]}) from None
    return url


def _validate_events(events) -> list[str]:
    if not isinstance(events, list) or not events:
        raise ValidationError(details={"events": ["Subscribe to at least one event."]})
    subscribable = subscribable_event_names()
    unknown = sorted({e for e in events if e not in subscribable}, key=str)
    if unknown:
        raise ValidationError(
            details={"events": [f"Unknown event(s): {', '.join(map(str, unknown))}."]},
        )
    return list(dict.fromkeys(events))


def webhook_create(
    *,
    organization_id: str,
    url: str,
    events: list[str],
    description: str = "",
    retry_policy: dict | None = None,
    metadata: dict | None = None,
    headers: dict[str, str] | None = None,
) -> Webhook:
    """Create an active endpoint with a new secret. The URL must pass the outbound target rules now; a
    retry policy (None: the organization's) and custom headers are checked (400, nothing created)."""
    return Webhook.objects.create(
        organization_id=organization_id,
        url=_validate_url(url),
        events=_validate_events(events),
        description=description,
        retry_policy=retry_policy_validate(retry_policy),
        metadata=metadata or {},
        headers=custom_headers_merge({}, headers or {}, replace=True),
        secret=signing.secret_generate(),
    )


def webhook_update(
    *,
    webhook: Webhook,
    url: str | None = None,
    events: list[str] | None = None,
    description: str | None = None,
    is_active: bool | None = None,
    **policy,
) -> Webhook:
    """Change an endpoint. Re-enabling (`is_active=True`) also forgets its failure streak.

    `policy` may hold `retry_policy` (None: back to the organization's), `metadata` (replaced whole) and
    `headers` (merged: a None value removes that header). Everything is checked before anything changes.
    """
    if "retry_policy" in policy:
        webhook.retry_policy = retry_policy_validate(policy["retry_policy"])
    if "headers" in policy:
        webhook.headers = custom_headers_merge(webhook.headers, policy["headers"], replace=False)
    if "metadata" in policy:
        webhook.metadata = policy["metadata"]
    if url is not None:
        webhook.url = _validate_url(url)
    if events is not None:
        webhook.events = _validate_events(events)
    if description is not None:
        webhook.description = description
    if is_active is True:
        webhook.is_active = True
        webhook.consecutive_failures = 0
        webhook.disabled_at = None
        webhook.disabled_reason = ""
    elif is_active is False:
        webhook.is_active = False
        webhook.disabled_at = timezone.now()
        webhook.disabled_reason = "Disabled by the partner."
    webhook.save()
    return webhook


def webhook_enable(*, webhook: Webhook) -> Webhook:
    return webhook_update(webhook=webhook, is_active=True)


def webhook_delete(*, webhook: Webhook) -> None:
    """Delete the endpoint with its delivery log; queued tasks for it find nothing and stop."""
    webhook.delete()


def webhook_rotate_secret(*, webhook: Webhook) -> Webhook:
    """New secret now; the old one keeps signing alongside it for 24 h so partners can switch over.

    Row-locked so two concurrent rotations cannot both demote the same secret and lose one.
    """
    with transaction.atomic():
        locked = Webhook.objects.select_for_update().get(pk=webhook.pk)
        locked.previous_secret = locked.secret
        locked.previous_secret_expires_at = timezone.now() + ROTATION_GRACE
        locked.secret = signing.secret_generate()
        locked.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
    return locked
