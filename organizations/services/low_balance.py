"""The low-balance alert: a credits.low event and one email to billingEmail when a charge takes the balance
to or below the organization's lowBalanceThreshold, re-armed by the next top-up.

The email task (organizations.tasks) calls these services, so they queue it by its name in the Celery
app's task registry (OrganizationsConfig.ready imports the tasks module), never by importing it back.
"""

import logging
from decimal import Decimal

from django.core.mail import send_mail
from django.db import transaction

from api.events import event_emit
from api.text import display_text
from config.celery import app as celery_app
from organizations import events
from organizations.models import CreditLedgerEntry, Organization, credits_number

logger = logging.getLogger("garmax.organizations")

SEND_LOW_BALANCE_EMAIL_TASK = "organizations.send_low_balance_email"


def low_balance_alert(entry: CreditLedgerEntry) -> None:
    """After a charge (organization row locked): alert once when the balance crossed the threshold downward.

    The alert is disarmed in the same transaction as the charge, so two charges racing across the
    threshold (they queue on the row lock) alert once; the credits.low event goes into the outbox with
    the charge and the email is queued only once it commits. The disarm is stamped with the charge's own
    time, so the email task can tell its alert from a later one and re-arm exactly its own when the email
    cannot be sent (`low_balance_alert_rearm`).
    """
    organization = entry.organization  # as locked by ledger_apply
    threshold, before = organization.low_balance_threshold, entry.balance_after - entry.amount
    if organization.low_balance_alerted_at is not None or not before > threshold >= entry.balance_after:
        return
    Organization.objects.filter(pk=organization.pk).update(low_balance_alerted_at=entry.created_at)
    event_emit(events.CREDITS_LOW, organization_id=entry.organization_id, entry=entry, threshold=threshold)
    # A test-mode sandbox gets its (livemode false) event for the partner's integration, but the billing
    # team is not emailed about play money.
    if organization.sandbox_of_id is None:
        transaction.on_commit(lambda: _low_balance_email_queue(entry_id=entry.pk, threshold=threshold))


def _low_balance_email_queue(*, entry_id: int, threshold: Decimal) -> None:
    try:
        # The threshold as the event states it; the balance is the entry's (the one right after the charge).
        celery_app.tasks[SEND_LOW_BALANCE_EMAIL_TASK].delay(entry_id, str(threshold))
    except Exception as exc:
        # The webhook event is in the outbox already; without its email the alert must not stay disarmed.
        logger.warning("Could not queue the low-balance email for entry %s: %s", entry_id, type(exc).__name__)
        low_balance_alert_rearm(entry_id=entry_id)


def low_balance_rearm(entry: CreditLedgerEntry) -> None:
    """After a top-up (organization row locked): re-arm the alert once the balance is above the threshold."""
    low_balance_rearm_above_threshold(organization=entry.organization, balance=entry.balance_after)


def low_balance_rearm_above_threshold(*, organization: Organization, balance: Decimal) -> None:
    # `organization` as locked by ledger_apply (or the sandbox reset), with its alert state.
    if organization.low_balance_alerted_at is not None and balance > organization.low_balance_threshold:
        Organization.objects.filter(pk=organization.pk).update(low_balance_alerted_at=None)


class LowBalanceEmailFailed(Exception):
    """The mail backend did not take the low-balance email. Its message names only the error's type: the
    original error can quote the headers, and with them the partner's organization name."""

    def __init__(self, message: str, retryable: bool = True):
        super().__init__(message, retryable)  # rebuilt from its args when a result backend or pickle reads it
        self.retryable = retryable

    def __str__(self) -> str:
        return self.args[0]

    @classmethod
    def from_error(cls, *, entry_id: int, error: BaseException) -> "LowBalanceEmailFailed":
        # A header the backend refuses (BadHeaderError) or an address it cannot parse fails again every time.
        return cls(
            f"low-balance email for ledger entry {entry_id}: {type(error).__name__}",
            retryable=not isinstance(error, ValueError),
        )


def low_balance_email_send(*, entry_id: int, threshold: str | None = None) -> bool:
    """Email billingEmail that a charge took the balance to or below the threshold. Returns whether one went.

    Queued once, after the charge commits. It states what the credits.low event states: the balance right
    after the crossing charge (the ledger entry's), and the `threshold` then (the current one for an email
    queued without it), never a balance read later. Nothing is sent when the organization has no
    billingEmail, or a top-up re-armed the alert (or a later alert replaced it) before the task ran: the
    warning would be stale. A mail-backend error raises LowBalanceEmailFailed, which says nothing the
    partner wrote; the task retries it and re-arms the alert when it gives up.
    """
    entry = CreditLedgerEntry.objects.select_related("organization").filter(pk=entry_id).first()
    if entry is None or not entry.organization.billing_email:
        return False
    organization = entry.organization
    if organization.low_balance_alerted_at != entry.created_at:
        return False  # re-armed (or alerted again) before the email went: nothing current to warn about
    balance = credits_number(entry.balance_after)
    threshold_shown = credits_number(Decimal(threshold) if threshold else organization.low_balance_threshold)
    # Stored before names refused control characters, a name could still break a header: shown without them.
    name = display_text(organization.name)
    try:
        send_mail(
            subject=f"GarmaxAI: {name} is low on credits ({balance} left)",
            message=(
                f"Your organization {name} ({organization.id}) has {balance} credits left, at or "
                f"below your low-balance threshold of {threshold_shown}.\n\n"
                "Try-ons are refused once the balance cannot pay for them. "
                "Contact GarmaxAI billing to top up.\n"
                "You can change the threshold with PATCH /api/organizations/{id} "
                "(settings.lowBalanceThreshold).\n"
            ),
            from_email=None,
            recipient_list=[organization.billing_email],
        )
    except Exception as exc:
        raise LowBalanceEmailFailed.from_error(entry_id=entry_id, error=exc) from None
    return True


def low_balance_alert_rearm(*, entry_id: int) -> bool:
    """Re-arm the alert this entry's charge disarmed, if it is still that one; returns whether it did.

    For an email that could not be handed to the mail backend: the next charge crossing the threshold
    alerts again (event and email) instead of the warning being lost for good. Conditional on the disarm's
    stamp, so a later alert (after a top-up re-armed and a charge crossed again) is left alone.
    """
    entry = CreditLedgerEntry.objects.filter(pk=entry_id).only("organization_id", "created_at").first()
    if entry is None:
        return False
    rearmed = Organization.objects.filter(
        pk=entry.organization_id, low_balance_alerted_at=entry.created_at
    ).update(low_balance_alerted_at=None)
    if rearmed:
        logger.warning("Low-balance email for entry %s was not sent; the alert is re-armed", entry_id)
    return bool(rearmed)
