"""A cancel racing a look's step as it ends (completes, or fails and refunds its look): both take the session,
then the look, then rows, so side by side on PostgreSQL they never deadlock, and the look is refunded once —
by the failure or by the cancel, never both, never neither."""

from decimal import Decimal

import pytest
from django.db.models import Sum

from api.errors import Conflict
from organizations.models import CreditLedgerEntry, Organization
from tests.concurrency import run_concurrently
from tests.images import image_bytes
from tryons import services
from tryons.models import CartTryOnSession, Look, TryOn
from tryons.renderers.base import RenderResult
from tryons.services import settlement
from tryons.services.looks import looks_start

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

IMAGE = "https://shop.example.com/products/{}.jpg"
JPEG = image_bytes(size=(60, 90), fmt="JPEG")  # a result is decoded before it is stored


def _rendering_step(organization, photo, n, monkeypatch):
    """A looks-only session (3 renders at sd) whose first step is rendering."""
    monkeypatch.setattr("tryons.services.queue.enqueue", lambda *args: None)
    session, _ = services.cart_session_create(
        organization_id=organization.id,
        cart_id=f"cart-{n}",
        photo_key=photo.storage_key,
        items=[
            services.GarmentInput(product_id=name, image_url=IMAGE.format(name), category=category)
            for name, category in (("jeans", "bottoms"), ("tee", "tops"), ("parka", "outerwear"))
        ],
        render_quality="sd",
        looks=[{"items": ["jeans", "tee", "parka"]}],
        render_items=False,
    )
    CartTryOnSession.objects.filter(pk=session.id).update(status=CartTryOnSession.Status.PROCESSING)
    looks_start(session_id=session.id)
    step = TryOn.objects.get(look__session=session, look_step=0)
    TryOn.objects.filter(pk=step.id).update(status=TryOn.Status.PROCESSING)
    step.refresh_from_db()
    return session, step


@pytest.mark.parametrize("end", ["completes", "fails"])
def test_cancel_racing_a_step_as_it_ends_never_deadlocks_and_refunds_the_look_once(
    organization, photo_of, monkeypatch, end
):
    photo = photo_of(organization)
    for n in range(12):
        session, step = _rendering_step(organization, photo, n, monkeypatch)

        def run(index, session=session, step=step):
            if index == 0:
                services.cart_session_cancel(organization_id=organization.id, session_id=session.id)
            elif end == "completes":
                result = RenderResult(image=JPEG, content_type="image/jpeg")
                settlement.tryon_complete(tryon=step, result=result, elapsed_ms=5)
            else:
                settlement.tryon_fail(tryon=step, code="render_rejected", message="No.")

        cancel_error, end_error = run_concurrently(run, 2, return_exceptions=True)
        assert end_error is None
        session.refresh_from_db()
        (look,) = Look.objects.filter(session=session)
        if cancel_error is None:
            assert session.status == "cancelled"
        else:  # the failure came first: the look failed, and with it the session (nothing left to cancel)
            assert isinstance(cancel_error, Conflict) and (end, session.status) == ("fails", "failed")
        assert look.status in ("cancelled", "failed") and look.credits_refunded == Decimal("3.00")
        refunds = CreditLedgerEntry.objects.filter(reference__startswith=f"{session.id}:")
        assert refunds.aggregate(total=Sum("amount"))["total"] == Decimal("3.00"), list(refunds.values())
        assert session.credits_refunded == Decimal("3.00")
        assert not TryOn.objects.filter(look=look, status__in=TryOn.ACTIVE).exists(), "no step left running"
    org = Organization.objects.get(pk=organization.id)
    ledger = CreditLedgerEntry.objects.filter(organization=organization).aggregate(total=Sum("amount"))[
        "total"
    ]
    assert org.credits == ledger
