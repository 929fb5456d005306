"""Issue 27 item M4: erasing a customer while one of its items renders fails and refunds that item at once
(`photo_unavailable`), so its session settles and sends its end event, instead of the item staying
`processing` without a lease until the stuck-work sweep (TRYON_STUCK_AFTER_SECONDS, 30 minutes)."""

from decimal import Decimal

import pytest

from customers.services import customer_delete
from infrastructure.storage import storage_exists
from tests.tryons.conftest import CountingRenderer
from tryons import services
from tryons.models import CartTryOnSession, TryOn
from tryons.services import processing
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.usefixtures("allow_private")


@pytest.fixture
def photo(organization, photo_of):
    return photo_of(organization, "leaving")


def erase(organization):
    customer_delete(organization_id=organization.id, external_id="leaving")


def test_erasing_the_customer_mid_render_fails_and_refunds_the_item_and_the_session_settles(
    organization, make_cart_session, garment_server, photo, monkeypatch
):
    session = make_cart_session(
        [garment_server.url(f"/garment-{n}.png") for n in range(3)], quality="hd", photo=photo
    )  # 3 × 2 credits
    renderer = CountingRenderer(hook=lambda: erase(organization), at=2)
    monkeypatch.setattr(processing, "get_renderer", lambda *name: renderer)

    services.cart_session_process(session_id=session.id)

    session.refresh_from_db()
    items = list(session.items.order_by("position"))
    assert [(i.status, i.error_code) for i in items] == [
        ("completed", ""),
        ("failed", "photo_unavailable"),
        ("failed", "photo_unavailable"),
    ]
    assert len(renderer.calls) == 2  # the third never rendered: its photo was gone
    assert not storage_exists(f"enterprise/org-{organization.id}/results/{items[1].id}.jpg")
    assert (session.status, session.progress, session.credits_refunded) == ("partial", 100, Decimal("4"))
    organization.refresh_from_db()
    assert organization.credits == Decimal("100") - Decimal("6") + Decimal("4")
    [event] = WebhookEvent.objects.all()
    assert (event.event, event.data["successCount"], event.data["failureCount"]) == (
        "cart_tryon.partial",
        1,
        2,
    )
    assert event.data["creditsRefunded"] == 4


def test_erasing_the_customer_while_the_last_item_renders_settles_the_session_right_away(
    organization, make_cart_session, garment_server, photo, monkeypatch
):
    session = make_cart_session([garment_server.url("/garment-0.png")], quality="sd", photo=photo)
    seen_at_erasure = {}

    def erase_and_look():
        erase(organization)
        seen_at_erasure["session"] = CartTryOnSession.objects.get(pk=session.id).status
        seen_at_erasure["events"] = list(WebhookEvent.objects.values_list("event", flat=True))

    renderer = CountingRenderer(hook=erase_and_look, at=1)
    monkeypatch.setattr(processing, "get_renderer", lambda *name: renderer)

    services.cart_session_process(session_id=session.id)

    # Settled by the erasure itself, while the render was still running; the render's end changed nothing.
    assert seen_at_erasure == {"session": "failed", "events": ["cart_tryon.failed"]}
    item = TryOn.objects.get(session=session)
    assert (item.status, item.error_code, item.result_key) == ("failed", "photo_unavailable", "")
    assert list(WebhookEvent.objects.values_list("event", flat=True)) == ["cart_tryon.failed"]
    organization.refresh_from_db()
    assert organization.credits == Decimal("100")


def test_erasing_the_customer_while_a_single_try_on_renders_fails_and_refunds_it(
    organization, make_tryon, garment_server, photo, monkeypatch
):
    tryon = make_tryon(garment_server.url("/garment-0.png"), photo=photo)
    renderer = CountingRenderer(hook=lambda: erase(organization), at=1)
    monkeypatch.setattr(processing, "get_renderer", lambda *name: renderer)

    services.tryon_process(tryon_id=tryon.id)

    tryon.refresh_from_db()
    assert (tryon.status, tryon.error_code, tryon.result_key) == ("failed", "photo_unavailable", "")
    assert list(WebhookEvent.objects.values_list("event", flat=True)) == ["tryon.failed"]
    organization.refresh_from_db()
    assert organization.credits == Decimal("100")
