"""The test-mode sandbox: an organization's twin that its test keys act as, with a balance of its own."""

from decimal import Decimal

from django.conf import settings
from django.db import transaction

from organizations.models import CENT, CreditLedgerEntry, Organization
from organizations.services.ledger import ledger_apply, organization_locked
from organizations.services.low_balance import low_balance_rearm_above_threshold

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
        locked = organization_locked(organization_id=sandbox.pk)
        low_balance_rearm_above_threshold(organization=locked, balance=locked.credits)
        return entry


def _sandbox_fill(*, sandbox: Organization, reference: str, actor) -> CreditLedgerEntry | None:
    current = Organization.objects.select_for_update().only("credits").get(pk=sandbox.pk).credits
    difference = Decimal(settings.SIGNUP_CREDIT_GRANT).quantize(CENT) - current
    if difference == 0:
        return None
    entry, _ = ledger_apply(
        organization_id=sandbox.pk,
        kind=CreditLedgerEntry.Kind.GRANT if reference else CreditLedgerEntry.Kind.ADJUSTMENT,
        amount=difference,
        reference=reference,
        description="Sandbox balance" if reference else "Sandbox balance reset",
        actor=actor,
    )
    return entry
