"""Reminders that an API key is about to expire: an email 7 days before and again 1 day before, to the
organization's members who manage keys (organizations.contacts), naming the key (name and prefix, never
the secret) and linking to the portal's keys page.

A reminder is claimed, once per key and stage, by a conditional UPDATE that stamps the key's current
expires_at into the stage's field: two beats (or two workers) looking at once both find the key, only one
updates it. Keys without an expiry and revoked keys are never reminded; a key whose expiry changes (a PATCH,
a roll's grace period) is reminded again for its new date, since the stamp no longer matches it. A key found
within its last day gets the day's reminder only (its week is stamped with it).

The beat task calls `apikey_expiry_reminders_queue`, which queues one email task per claimed reminder by its
name in the Celery app's registry (ApiKeysConfig.ready imports the tasks module).
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from api.text import display_text
from api.timestamps import timestamp_text
from apikeys.models import ApiKey
from config.celery import app as celery_app
from organizations.contacts import member_emails_with_permission
from organizations.roles import Permission

logger = logging.getLogger("garmax.apikeys")

SEND_EXPIRY_REMINDER_TASK = "apikeys.send_expiry_reminder"
PORTAL_KEYS_PATH = "/portal/keys/"
# Reminders claimed per stage per beat run; the rest are claimed on the next run.
BATCH = 500
# (stage, how long before the expiry, the field stamped, the fields stamped with it), the nearest first.
STAGES = (
    (
        "day",
        timedelta(days=1),
        "expiry_reminded_day_for",
        ("expiry_reminded_day_for", "expiry_reminded_week_for"),
    ),
    ("week", timedelta(days=7), "expiry_reminded_week_for", ("expiry_reminded_week_for",)),
)
_STAGES = {stage: (before, field, stamped) for stage, before, field, stamped in STAGES}
STAGE_WORDS = {"day": "within a day", "week": "within 7 days"}


def _not_reminded(field: str) -> Q:
    # IS DISTINCT FROM expires_at, spelled so NULL (never reminded) counts as distinct.
    return (
        Q(**{f"{field}__isnull": True})
        | Q(**{f"{field}__lt": F("expires_at")})
        | Q(**{f"{field}__gt": F("expires_at")})
    )


def apikey_expiry_reminders_queue(*, now: datetime | None = None) -> int:
    """Claim every reminder due now and queue its email once the claim commits; returns how many were
    claimed. Safe to run concurrently with itself: each claim is a conditional UPDATE, taken by one run."""
    now = now or timezone.now()
    claimed = 0
    nearer = now
    for stage, before, field, stamped in STAGES:
        due = (
            ApiKey.objects.filter(
                revoked_at__isnull=True, expires_at__gt=nearer, expires_at__lte=now + before
            )
            .filter(_not_reminded(field))
            .values_list("pk", "expires_at")[:BATCH]
        )
        for key_id, expires_at in due:
            claimed += _claim(key_id=key_id, expires_at=expires_at, stage=stage, stamped=stamped)
        nearer = now + before  # a key within the day was the day's; the week looks beyond it
    return claimed


def _claim(*, key_id: str, expires_at: datetime, stage: str, stamped: tuple[str, ...]) -> int:
    with transaction.atomic():
        # Another beat that found the key first has stamped it: this UPDATE then matches nothing.
        won = (
            ApiKey.objects.filter(pk=key_id, expires_at=expires_at, revoked_at__isnull=True)
            .filter(_not_reminded(stamped[0]))
            .update(**dict.fromkeys(stamped, expires_at))
        )
        if won:
            transaction.on_commit(lambda: _queue(key_id, stage, expires_at))
    return won


def _queue(key_id: str, stage: str, expires_at: datetime) -> None:
    try:
        celery_app.tasks[SEND_EXPIRY_REMINDER_TASK].delay(key_id, stage, expires_at.isoformat())
    except Exception as exc:
        logger.warning("Could not queue the %s expiry reminder of %s: %s", stage, key_id, type(exc).__name__)
        apikey_expiry_reminder_rearm(key_id=key_id, stage=stage, expires_at=expires_at.isoformat())


def apikey_expiry_reminder_rearm(*, key_id: str, stage: str, expires_at: str) -> bool:
    """Give back a claimed reminder whose email could not go, if it is still that claim: the next beat
    claims it again. Returns whether it did."""
    _, field, _ = _STAGES[stage]
    stamp = datetime.fromisoformat(expires_at)
    return bool(ApiKey.objects.filter(pk=key_id, **{field: stamp}).update(**{field: None}))


class ExpiryReminderFailed(Exception):
    """The mail backend did not take the email; the message names the error's type only."""

    def __str__(self) -> str:
        return self.args[0]


def apikey_expiry_reminder_send(*, key_id: str, stage: str, expires_at: str) -> bool:
    """Email the organization's key managers that the key expires `expires_at`; returns whether one went.

    Nothing is sent for a key revoked, expired, or given another expiry since the claim (a new claim covers
    a new date), nor when no member manages keys. A mail-backend error raises ExpiryReminderFailed, for the
    task to retry (and give the claim back when it gives up)."""
    key = ApiKey.objects.select_related("organization", "replaced_by").filter(pk=key_id).first()
    now = timezone.now()
    if key is None or key.revoked_at is not None or key.expires_at is None or key.expires_at <= now:
        return False
    if key.expires_at != datetime.fromisoformat(expires_at):
        return False
    recipients = member_emails_with_permission(
        organization_id=key.organization_id, permission=Permission.MANAGE_KEYS
    )
    if not recipients:
        return False
    organization = key.organization
    name, key_name = display_text(organization.name), display_text(key.name)
    when = STAGE_WORDS[stage]
    replaced = ""
    if key.replaced_by is not None:
        replaced = (
            f"It was rolled: its replacement is {display_text(key.replaced_by.name)} "
            f"({key.replaced_by.key_prefix}…). Make sure everything uses the new key by then.\n"
        )
    try:
        send_mail(
            subject=f"GarmaxAI: API key {key_name} ({key.key_prefix}…) of {name} expires {when}",
            message=(
                f"The {key.mode} API key {key_name} ({key.key_prefix}…) of your organization {name} "
                f"({organization.id}) expires on {timestamp_text(key.expires_at)}. Requests with it are "
                "refused from then on.\n"
                f"{replaced}\n"
                f"Roll it (a new key, with a grace period for the old one) or change its expiry: "
                f"{settings.PUBLIC_BASE_URL}{PORTAL_KEYS_PATH}\n"
                f"(or POST /api/organizations/{organization.id}/api-keys/{key.id}/roll).\n\n"
                "You receive this as a member who manages the organization's API keys.\n"
            ),
            from_email=None,
            recipient_list=recipients,
        )
    except Exception as exc:
        raise ExpiryReminderFailed(f"expiry reminder of {key_id}: {type(exc).__name__}") from None
    return True
