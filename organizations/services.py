"""Organizations and the credit ledger: the only code that changes a balance.

Every balance change locks the organization row (`select_for_update`), checks and writes the new balance
and inserts one ledger row, all in one transaction: concurrent charges queue on the lock instead of both
reading the same balance, so the balance always equals the ledger's sum and never goes negative.
"""

import logging
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q

from api.errors import Forbidden, InsufficientCredits, ValidationError
from api.events import event_emit
from api.text import display_text
from infrastructure.observability import metrics
from infrastructure.prepared import PreparedQuery
from organizations import events
from organizations.models import (
    DEFAULT_ORGANIZATION_SETTINGS,
    RENDER_QUALITIES,
    CreditLedgerEntry,
    Membership,
    Organization,
    credits_number,
)
from organizations.signals import organization_status_changed

logger = logging.getLogger("garmax.organizations")

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
    raw = dict(raw)
    if "lowBalanceThreshold" in raw:
        threshold = _threshold_clean(raw["lowBalanceThreshold"])
        if threshold is None:
            errors["settings.lowBalanceThreshold"] = [
                f"Must be a number of credits from 0 to {LOW_BALANCE_THRESHOLD_MAX}, with at most 2 decimals."
            ]
        else:
            raw["lowBalanceThreshold"] = credits_number(threshold)
    if errors:
        raise ValidationError(details=errors)
    merged.update(raw)
    return merged


LOW_BALANCE_THRESHOLD_MAX = 1_000_000


def _threshold_clean(value) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        return None
    try:
        threshold = Decimal(repr(value) if isinstance(value, float) else value)
    except (InvalidOperation, ValueError):
        return None
    if not threshold.is_finite() or threshold != threshold.quantize(CENT) or threshold < 0:
        return None
    return threshold if threshold <= LOW_BALANCE_THRESHOLD_MAX else None


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
        with transaction.atomic():
            organization.save(update_fields=[*fields, "updated_at"])
            # The sandbox behaves like its organization: same name, same render and retry settings.
            Organization.objects.filter(sandbox_of=organization).update(
                name=organization.name, settings=organization.settings
            )
    return organization


SANDBOX_GRANT_REFERENCE = "sandbox-start"


def organization_sandbox(*, organization: Organization) -> Organization:
    """The test-mode twin of a live organization, created (with the signup grant as its balance) on first use.

    Test keys act as the sandbox: their customers, try-ons, webhooks, usage and ledger are the sandbox's,
    so no live query can reach them and no test charge can touch the live balance. Concurrent first calls
    queue on the live organization's row lock, so there is one sandbox per organization.
    """
    if not organization.livemode:
        raise ValueError("a sandbox has no sandbox of its own")
    sandbox = Organization.objects.filter(sandbox_of=organization).first()
    if sandbox is not None:
        return sandbox
    with transaction.atomic():
        live = Organization.objects.select_for_update().get(pk=organization.pk)
        sandbox = Organization.objects.filter(sandbox_of=live).first()
        if sandbox is None:
            sandbox = Organization.objects.create(
                name=live.name,
                domain=live.domain,
                billing_email=live.billing_email,
                settings=live.settings,
                status=live.status,
                sandbox_of=live,
            )
            _sandbox_fill(sandbox=sandbox, reference=SANDBOX_GRANT_REFERENCE, actor=None)
    sandbox.refresh_from_db()
    return sandbox


def sandbox_reset(*, organization: Organization, actor) -> CreditLedgerEntry | None:
    """Bring the sandbox balance back to the signup grant, through one ledger adjustment.

    Runs under the sandbox's row lock like every balance change, so a test charge in flight either lands
    before the reset (and is undone by it) or after it. Re-arms the low-balance alert as a top-up does.
    Returns None when the balance already equals it.
    """
    sandbox = organization_sandbox(organization=organization)
    with transaction.atomic():
        entry = _sandbox_fill(sandbox=sandbox, reference="", actor=actor)
        # As a top-up does: back above the threshold, the next crossing alerts again (credits.low).
        locked = _locked_organization_query.first(organization_id=sandbox.pk)
        _low_balance_rearm_above_threshold(organization=locked, balance=locked.credits)
        return entry


def _sandbox_fill(*, sandbox: Organization, reference: str, actor) -> CreditLedgerEntry | None:
    current = Organization.objects.select_for_update().only("credits").get(pk=sandbox.pk).credits
    difference = Decimal(settings.SIGNUP_CREDIT_GRANT).quantize(CENT) - current
    if difference == 0:
        return None
    entry, _ = _ledger_apply(
        organization_id=sandbox.pk,
        kind=CreditLedgerEntry.Kind.GRANT if reference else CreditLedgerEntry.Kind.ADJUSTMENT,
        amount=difference,
        reference=reference,
        description="Sandbox balance" if reference else "Sandbox balance reset",
        actor=actor,
    )
    return entry


# The row lock serializes balance changes per organization: no lost update, no double spend. NO KEY: the
# rows a create inserts point at the organization, and PostgreSQL's foreign-key check share-locks its key;
# a plain FOR UPDATE would make every concurrent create of the organization wait for the charging one's
# commit before it could insert a row, not just before it charges. Compiled once (infrastructure/prepared.py):
# every cart create runs it.
_locked_organization_query = PreparedQuery(
    Organization,
    lambda organization_id: (
        Organization.objects.select_for_update(no_key=True)
        .only("id", "credits", "settings", "low_balance_alerted_at", "sandbox_of_id")
        .filter(pk=organization_id)[:1]
    ),
)


def _ledger_apply(
    *,
    organization_id: str,
    kind: str,
    amount: Decimal,
    reference: str,
    description: str,
    actor=None,
    duplicate_raises: bool = False,
) -> tuple[CreditLedgerEntry, bool]:
    """Lock the organization, apply a signed `amount` and record it. Returns (entry, created).

    A reference already recorded for this kind returns the earlier entry unchanged, so a retried charge or
    refund is a no-op rather than a second balance change. With `duplicate_raises` the caller, which runs
    this in a savepoint and catches IntegrityError, lets the unique constraint find the repeat instead of a
    look-up under the lock: creates charge under fresh ids, and every statement between the lock and the
    commit is time other creators of the organization wait. Must run inside a transaction. The entry
    carries the locked organization (`entry.organization`) with its alert settings.
    """
    organization = _locked_organization_query.first(organization_id=organization_id)
    if organization is None:
        raise Organization.DoesNotExist(f"Organization {organization_id} does not exist.")
    new_balance = organization.credits + amount
    if reference and (not duplicate_raises or new_balance < 0):
        existing = CreditLedgerEntry.objects.filter(
            organization_id=organization_id, kind=kind, reference=reference
        ).first()
        if existing is not None:
            return existing, False
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
    organization.credits = new_balance
    entry = CreditLedgerEntry.objects.create(
        organization=organization,
        kind=kind,
        amount=amount,
        balance_after=new_balance,
        reference=reference,
        description=description[:255],
        actor=actor if getattr(actor, "pk", None) else None,
    )
    if amount:
        transaction.on_commit(lambda: metrics.credits_moved(kind=kind, amount=amount))
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
        entry, created = _ledger_apply(
            organization_id=organization.pk,
            kind=CreditLedgerEntry.Kind.TOP_UP,
            amount=value,
            reference=reference,
            description=description or "Credit top-up",
            actor=actor,
        )
        if created:
            _low_balance_rearm(entry)
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
        entry, created = _ledger_apply(
            organization_id=organization_id,
            kind=CreditLedgerEntry.Kind.CHARGE,
            amount=-value,
            reference=reference,
            description=description or f"Charge for {reference}",
            actor=actor,
            duplicate_raises=True,
        )
        if created:
            _low_balance_alert(entry)
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
            entry, _ = _ledger_apply(
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


def _low_balance_alert(entry: CreditLedgerEntry) -> None:
    """After a charge (organization row locked): alert once when the balance crossed the threshold downward.

    The alert is disarmed in the same transaction as the charge, so two charges racing across the
    threshold (they queue on the row lock) alert once; the credits.low event goes into the outbox with
    the charge and the email is queued only once it commits. The disarm is stamped with the charge's own
    time, so the email task can tell its alert from a later one and re-arm exactly its own when the email
    cannot be sent (`low_balance_alert_rearm`).
    """
    organization = entry.organization  # as locked by _ledger_apply
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
    from organizations.tasks import send_low_balance_email

    try:
        # The threshold as the event states it; the balance is the entry's (the one right after the charge).
        send_low_balance_email.delay(entry_id, str(threshold))
    except Exception as exc:
        # The webhook event is in the outbox already; without its email the alert must not stay disarmed.
        logger.warning("Could not queue the low-balance email for entry %s: %s", entry_id, type(exc).__name__)
        low_balance_alert_rearm(entry_id=entry_id)


def _low_balance_rearm(entry: CreditLedgerEntry) -> None:
    """After a top-up (organization row locked): re-arm the alert once the balance is above the threshold."""
    _low_balance_rearm_above_threshold(organization=entry.organization, balance=entry.balance_after)


def _low_balance_rearm_above_threshold(*, organization: Organization, balance: Decimal) -> None:
    # `organization` as locked by _ledger_apply (or the sandbox reset), with its alert state.
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
        entry, _ = _ledger_apply(
            organization_id=organization.pk,
            kind=CreditLedgerEntry.Kind.ADJUSTMENT,
            amount=value,
            reference=reference,
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
    # The sandbox follows: a suspended partner's test keys and test work stop too.
    Organization.objects.filter(Q(pk=organization.pk) | Q(sandbox_of=organization.pk)).update(status=status)
    organization.status = status
    # After the commit, so a rolled-back suspension never leaves keys blocked (and vice versa).
    transaction.on_commit(
        lambda: organization_status_changed.send(
            sender=Organization, organization=organization, status=status
        )
    )
    return organization
