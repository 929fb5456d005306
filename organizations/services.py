"""Organizations and the credit ledger: the only code that changes a balance.

Every balance change locks the organization row (`select_for_update`), checks and writes the new balance
and inserts one ledger row, all in one transaction: concurrent charges queue on the lock instead of both
reading the same balance, so the balance always equals the ledger's sum and never goes negative.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from config.errors import Forbidden, InsufficientCredits, ValidationError
from organizations.models import (
    DEFAULT_ORGANIZATION_SETTINGS,
    RENDER_QUALITIES,
    CreditLedgerEntry,
    Membership,
    Organization,
    credits_number,
)
from organizations.signals import organization_status_changed

CENT = Decimal("0.01")


def to_credits(value) -> Decimal:
    """Exact two-decimal credits from an int, str or Decimal (floats are refused: they are not exact)."""
    if isinstance(value, float):
        value = repr(value)
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise ValidationError(details={"amount": ["Must be a number."]}) from None
    if not amount.is_finite():
        raise ValidationError(details={"amount": ["Must be a finite number."]})
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def organization_settings_clean(raw: dict | None, *, base: dict | None = None) -> dict:
    """Merge partner-supplied settings over `base`, validating the keys we know about."""
    merged = dict(base if base is not None else DEFAULT_ORGANIZATION_SETTINGS)
    if raw is None:
        return merged
    if not isinstance(raw, dict):
        raise ValidationError(details={"settings": ["Must be an object."]})
    errors = {}
    unknown = sorted(set(raw) - set(DEFAULT_ORGANIZATION_SETTINGS))
    if unknown:
        errors["settings"] = [f"Unknown setting(s): {', '.join(unknown)}."]
    if "webhookRetries" in raw:
        retries = raw["webhookRetries"]
        if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 10:
            errors["settings.webhookRetries"] = ["Must be an integer from 0 to 10."]
    if "defaultRenderQuality" in raw and raw["defaultRenderQuality"] not in RENDER_QUALITIES:
        errors["settings.defaultRenderQuality"] = [f"Must be one of {', '.join(RENDER_QUALITIES)}."]
    if errors:
        raise ValidationError(details=errors)
    merged.update(raw)
    return merged


SIGNUP_GRANT_REFERENCE = "signup"


@transaction.atomic
def organization_create(
    *, owner, name: str, domain: str = "", billing_email: str = "", settings_: dict | None = None
) -> Organization:
    """Create an organization, make `owner` its owner and grant the signup credits, all or nothing.

    Signup credits are granted once per user, to their first organization only. A user owns at most
    MAX_ORGANIZATIONS_PER_USER organizations, and the owner of a suspended organization cannot create
    another (Forbidden). The owner's user row is locked first, so concurrent creates by one user queue:
    neither the cap nor the once-per-user grant can be raced. Billing staff onboarding partners are exempt
    from the cap and the once-per-user rule: they can add credits anyway, so there is nothing to farm.
    """
    get_user_model().objects.select_for_update().filter(pk=owner.pk).values_list("pk").first()
    billing_staff = user_can_add_credits(owner)
    if not billing_staff:
        _organization_create_check(owner=owner)
    grant = billing_staff or not (
        CreditLedgerEntry.objects.filter(
            kind=CreditLedgerEntry.Kind.GRANT, reference=SIGNUP_GRANT_REFERENCE, actor=owner
        ).exists()
    )
    organization = Organization.objects.create(
        name=name,
        domain=domain or "",
        billing_email=billing_email or "",
        settings=organization_settings_clean(settings_),
    )
    Membership.objects.create(organization=organization, user=owner, role=Membership.Role.OWNER)
    amount = Decimal(settings.SIGNUP_CREDIT_GRANT)
    if grant and amount > 0:
        _ledger_apply(
            organization_id=organization.id,
            kind=CreditLedgerEntry.Kind.GRANT,
            amount=amount,
            reference=SIGNUP_GRANT_REFERENCE,
            description="Signup credit grant",
            actor=owner,
        )
        organization.refresh_from_db(fields=["credits"])
    return organization


def _organization_create_check(*, owner) -> None:
    owned = Membership.objects.filter(user=owner, role=Membership.Role.OWNER)
    if owned.filter(organization__status=Organization.Status.SUSPENDED).exists():
        raise Forbidden(
            "The owner of a suspended organization cannot create organizations. Contact GarmaxAI support."
        )
    limit = settings.MAX_ORGANIZATIONS_PER_USER
    if owned.count() >= limit:
        raise Forbidden(
            f"A user can own at most {limit} organizations.", details={"maxOrganizationsPerUser": limit}
        )


def organization_update(*, organization: Organization, data: dict) -> Organization:
    """Apply a PATCH: name, domain, billingEmail and a partial settings object merged over the current one."""
    fields = []
    for attr in ("name", "domain", "billing_email"):
        if attr in data:
            setattr(organization, attr, data[attr] or "")
            fields.append(attr)
    if "settings" in data:
        organization.settings = organization_settings_clean(data["settings"], base=organization.settings)
        fields.append("settings")
    if fields:
        organization.save(update_fields=[*fields, "updated_at"])
    return organization


def _ledger_apply(
    *, organization_id: str, kind: str, amount: Decimal, reference: str, description: str, actor=None
) -> tuple[CreditLedgerEntry, bool]:
    """Lock the organization, apply a signed `amount` and record it. Returns (entry, created).

    A reference already recorded for this kind returns the earlier entry unchanged, so a retried charge or
    refund is a no-op rather than a second balance change. Must run inside a transaction.
    """
    # The row lock serializes balance changes per organization: no lost update, no double spend.
    organization = Organization.objects.select_for_update().only("id", "credits").get(pk=organization_id)
    if reference:
        existing = CreditLedgerEntry.objects.filter(
            organization_id=organization_id, kind=kind, reference=reference
        ).first()
        if existing is not None:
            return existing, False
    new_balance = organization.credits + amount
    if new_balance < 0:
        raise InsufficientCredits(
            f"Organization has insufficient credits. Required: {credits_number(-amount)}, "
            f"Available: {credits_number(organization.credits)}",
            details={
                "required": credits_number(-amount),
                "available": credits_number(organization.credits),
                "organizationId": organization_id,
            },
        )
    Organization.objects.filter(pk=organization_id).update(credits=new_balance)
    entry = CreditLedgerEntry.objects.create(
        organization_id=organization_id,
        kind=kind,
        amount=amount,
        balance_after=new_balance,
        reference=reference,
        description=description[:255],
        actor=actor if getattr(actor, "pk", None) else None,
    )
    return entry, True


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
        entry, _ = _ledger_apply(
            organization_id=organization.pk,
            kind=CreditLedgerEntry.Kind.TOP_UP,
            amount=value,
            reference=reference,
            description=description or "Credit top-up",
            actor=actor,
        )
    return entry


def credits_charge(
    *, organization_id: str, amount, reference: str, description: str = ""
) -> CreditLedgerEntry:
    """Take `amount` credits for `reference` (e.g. a cart session id).

    Raises InsufficientCredits (nothing changes) when the balance is too low. Charging the same reference
    twice returns the first entry and charges nothing. Call it inside the transaction that creates the
    thing being paid for, so both commit or neither does.
    """
    if not reference:
        raise ValueError("a charge needs a reference")
    value = _positive(amount)
    try:
        with transaction.atomic():
            entry, _ = _ledger_apply(
                organization_id=organization_id,
                kind=CreditLedgerEntry.Kind.CHARGE,
                amount=-value,
                reference=reference,
                description=description or f"Charge for {reference}",
            )
    except IntegrityError:
        # A concurrent charge of the same reference won the unique constraint: it is already paid.
        return CreditLedgerEntry.objects.get(
            organization_id=organization_id, kind=CreditLedgerEntry.Kind.CHARGE, reference=reference
        )
    return entry


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
            entry, _ = _ledger_apply(
                organization_id=organization_id,
                kind=CreditLedgerEntry.Kind.REFUND,
                amount=value,
                reference=reference,
                description=description or f"Refund for {reference}",
                actor=actor,
            )
    except IntegrityError:
        return CreditLedgerEntry.objects.get(
            organization_id=organization_id, kind=CreditLedgerEntry.Kind.REFUND, reference=reference
        )
    return entry


def credits_adjust(*, organization: Organization, amount, description: str, actor) -> CreditLedgerEntry:
    """A signed correction by billing staff (e.g. goodwill, chargeback); never takes the balance below 0."""
    if not user_can_add_credits(actor):
        raise Forbidden("Only GarmaxAI billing staff can adjust credits.")
    value = to_credits(amount)
    if value == 0:
        raise ValidationError(details={"amount": ["Must not be 0."]})
    with transaction.atomic():
        entry, _ = _ledger_apply(
            organization_id=organization.pk,
            kind=CreditLedgerEntry.Kind.ADJUSTMENT,
            amount=value,
            reference="",
            description=description,
            actor=actor,
        )
    return entry


def membership_for(*, user, organization_id: str) -> Membership | None:
    if not user or not user.is_authenticated:
        return None
    return (
        Membership.objects.select_related("organization")
        .filter(user=user, organization_id=organization_id)
        .first()
    )


def organization_set_status(*, organization: Organization, status: str, actor=None) -> Organization:
    """Suspend or reactivate an organization. A suspended organization's API keys fail on the next request
    (apikeys listens to `organization_status_changed`)."""
    if status not in Organization.Status.values:
        raise ValidationError(
            details={"status": [f"Must be one of {', '.join(Organization.Status.values)}."]}
        )
    Organization.objects.filter(pk=organization.pk).update(status=status)
    organization.status = status
    # After the commit, so a rolled-back suspension never leaves keys blocked (and vice versa).
    transaction.on_commit(
        lambda: organization_status_changed.send(
            sender=Organization, organization=organization, status=status
        )
    )
    return organization
