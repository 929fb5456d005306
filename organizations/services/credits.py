"""Credit top-ups, charges, refunds and adjustments, each one ledger entry (services/ledger.py)."""

from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction

from api.errors import Forbidden, ValidationError
from api.events import event_emit
from organizations import events
from organizations.models import CreditLedgerEntry, Organization
from organizations.services.ledger import ledger_apply, to_credits
from organizations.services.low_balance import low_balance_alert, low_balance_rearm


def _positive(amount, field: str = "amount") -> Decimal:
    value = to_credits(amount)
    if value <= 0:
        raise ValidationError(details={field: ["Must be greater than 0."]})
    return value


def user_can_add_credits(user) -> bool:
    return bool(user and user.is_active and user.is_staff and user.has_perm("organizations.add_credits"))


def credits_top_up(
    *, organization: Organization, amount, description: str = "", actor, reference: str = ""
) -> CreditLedgerEntry:
    """Add purchased credits. Only staff with the billing permission may mint credits, never an owner."""
    if not user_can_add_credits(actor):
        raise Forbidden("Only GarmaxAI billing staff can add credits.")
    value = _positive(amount)
    if value > settings.MAX_CREDIT_TOP_UP:
        raise ValidationError(details={"amount": [f"Must be at most {settings.MAX_CREDIT_TOP_UP}."]})
    with transaction.atomic():
        entry, created = ledger_apply(
            organization_id=organization.pk,
            kind=CreditLedgerEntry.Kind.TOP_UP,
            amount=value,
            reference=reference,
            description=description or "Credit top-up",
            actor=actor,
        )
        if created:
            low_balance_rearm(entry)
            # Inside the transaction: the event (the webhooks outbox) commits with the top-up or not at all.
            event_emit(events.CREDITS_ADDED, organization_id=entry.organization_id, entry=entry)
    return entry


def credits_charge(
    *,
    organization_id: str,
    amount,
    reference: str,
    description: str = "",
    actor=None,
    new_reference: bool = False,
) -> CreditLedgerEntry:
    """Take `amount` credits for `reference` (e.g. a cart session id).

    Raises InsufficientCredits (nothing changes) when the balance is too low. Charging the same reference
    twice returns the first entry and charges nothing. Call it inside the transaction that creates the
    thing being paid for, so both commit or neither does. `actor` is the staff user whose action charges
    (a console re-run), recorded on the entry. `new_reference` says the reference is the id of a row this
    transaction has just inserted, so nothing can have been charged under it: the charge then skips the
    savepoint that catches a repeat (two round trips while the organization is locked, on every create).
    """
    if not reference:
        raise ValueError("a charge needs a reference")
    value = _positive(amount)

    def charge() -> CreditLedgerEntry:
        entry, created = ledger_apply(
            organization_id=organization_id,
            kind=CreditLedgerEntry.Kind.CHARGE,
            amount=-value,
            reference=reference,
            description=description or f"Charge for {reference}",
            actor=actor,
            duplicate_raises=True,
        )
        if created:
            low_balance_alert(entry)
        return entry

    if new_reference:
        return charge()
    try:
        with transaction.atomic():
            return charge()
    except IntegrityError:
        # The reference was charged before (a retry), or a concurrent charge of it won the unique
        # constraint: it is already paid.
        return CreditLedgerEntry.objects.get(
            organization_id=organization_id, kind=CreditLedgerEntry.Kind.CHARGE, reference=reference
        )


def credits_refund(
    *, organization_id: str, amount, reference: str, description: str = "", actor=None
) -> CreditLedgerEntry | None:
    """Give back `amount` credits for `reference` (e.g. `cts_x:item:3`). At most once per reference.

    Returns None when there is nothing to refund (amount 0); a repeated reference returns the first entry.
    `actor` is the staff user whose action caused the refund (an admin cancel), recorded on the entry.
    """
    if not reference:
        raise ValueError("a refund needs a reference")
    value = to_credits(amount)
    if value <= 0:
        return None
    try:
        with transaction.atomic():
            entry, _ = ledger_apply(
                organization_id=organization_id,
                kind=CreditLedgerEntry.Kind.REFUND,
                amount=value,
                reference=reference,
                description=description or f"Refund for {reference}",
                actor=actor,
                duplicate_raises=True,
            )
    except IntegrityError:
        return CreditLedgerEntry.objects.get(
            organization_id=organization_id, kind=CreditLedgerEntry.Kind.REFUND, reference=reference
        )
    return entry


def credits_adjust(
    *, organization: Organization, amount, description: str, actor, reference: str = ""
) -> CreditLedgerEntry:
    """A signed correction by billing staff (e.g. goodwill, chargeback); never takes the balance below 0.

    A `reference` makes it once-only: a repeat returns the first entry (the admin's one-time confirmation).
    """
    if not user_can_add_credits(actor):
        raise Forbidden("Only GarmaxAI billing staff can adjust credits.")
    value = to_credits(amount)
    if value == 0:
        raise ValidationError(details={"amount": ["Must not be 0."]})
    with transaction.atomic():
        entry, _ = ledger_apply(
            organization_id=organization.pk,
            kind=CreditLedgerEntry.Kind.ADJUSTMENT,
            amount=value,
            reference=reference,
            description=description,
            actor=actor,
        )
    return entry
