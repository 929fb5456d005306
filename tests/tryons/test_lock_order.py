"""Cancel and item failure take their locks in one order (session → items → organization): run side by
side on PostgreSQL they never deadlock, and the money comes out exact."""

import threading
from decimal import Decimal

import pytest

from organizations.models import CreditLedgerEntry
from tests.concurrency import run_concurrently
from tryons import services
from tryons.models import CartTryOnSession, TryOn
from tryons.services import settlement

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

IMAGE = "https://shop.example.com/products/tshirt.jpg"


def _processing_session(organization, photo, n):
    """A 3-item hd session (6 credits) whose first item is being rendered."""
    session, _ = services.cart_session_create(
        organization_id=organization.id,
        cart_id=f"cart-{n}",
        photo_key=photo.storage_key,
        items=[
            services.GarmentInput(product_id=f"p{i}", variant_id="", image_url=IMAGE, category="tops")
            for i in range(3)
        ],
        render_quality="hd",
    )
    CartTryOnSession.objects.filter(pk=session.id).update(status=CartTryOnSession.Status.PROCESSING)
    TryOn.objects.filter(session=session, position=0).update(status=TryOn.Status.PROCESSING)
    return session


def _race(session, *, cancel_waits_for_refund_of_failure):
    """Cancel the session while its rendering item fails; returns each side's exception (or None).

    With `cancel_waits_for_refund_of_failure`, the cancel, holding the session and its items, waits (up to
    0.3 s) before its refund until the failure has refunded its item: the interleaving that deadlocked.
    """
    failure_refunded = threading.Event()
    real_refund = settlement.credits_refund

    def refund(**kwargs):
        if kwargs["reference"].endswith(":cancel"):
            if cancel_waits_for_refund_of_failure:
                failure_refunded.wait(timeout=0.3)
            return real_refund(**kwargs)
        entry = real_refund(**kwargs)
        failure_refunded.set()
        return entry

    item = TryOn.objects.get(session=session, position=0)

    def run(index):
        if index == 0:
            services.cart_session_cancel(organization_id=session.organization_id, session_id=session.id)
        else:
            settlement.tryon_fail(tryon=item, code="render_rejected", message="The renderer failed.")

    settlement.credits_refund = refund
    try:  # a deadlock victim is reported (returned), not raised
        return run_concurrently(run, 2, return_exceptions=True)
    finally:
        settlement.credits_refund = real_refund


@pytest.mark.parametrize("forced", [True, False], ids=["forced-interleaving", "free-running"])
def test_cancel_racing_an_item_failure_never_deadlocks_and_refunds_exactly(organization, photo_of, forced):
    photo = photo_of(organization)
    rounds = 5 if forced else 20
    for n in range(rounds):
        session = _processing_session(organization, photo, n)
        errors = _race(session, cancel_waits_for_refund_of_failure=forced)
        assert errors == [None, None], errors

        session.refresh_from_db()
        assert session.status == CartTryOnSession.Status.CANCELLED
        # Everything back: the queued items by the cancel, the rendering one by whichever came first (the
        # failure's refund, or the cancel's, which takes a rendering item too: README, cancelling).
        assert session.credits_refunded == Decimal("6")
        statuses = list(
            TryOn.objects.filter(session=session).order_by("position").values_list("status", flat=True)
        )
        assert statuses[0] in (TryOn.Status.FAILED, TryOn.Status.CANCELLED)
        assert statuses[1:] == [TryOn.Status.CANCELLED] * 2

    organization.refresh_from_db()
    assert organization.credits == Decimal("100")
    ledger = CreditLedgerEntry.objects.filter(organization=organization)
    assert sum(ledger.values_list("amount", flat=True)) == organization.credits
    assert rounds <= ledger.filter(kind="refund").count() <= 2 * rounds
