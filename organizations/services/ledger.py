"""The credit ledger: the only code that changes a balance.

Every balance change locks the organization row (`select_for_update`), checks and writes the new balance
and inserts one ledger row, all in one transaction: concurrent charges queue on the lock instead of both
reading the same balance, so the balance always equals the ledger's sum and never goes negative.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import transaction

from api.errors import InsufficientCredits, ValidationError
from infrastructure.observability import metrics
from infrastructure.prepared import PreparedQuery
from organizations.models import CENT, CreditLedgerEntry, Organization, credits_number


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


def organization_locked(*, organization_id: str) -> Organization | None:
    """The organization under the balance lock, with its alert state; inside a transaction."""
    return _locked_organization_query.first(organization_id=organization_id)


def ledger_apply(
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
