"""The console's cart try-on pages (kept apart from the cancel permission's tests in test_admin.py)."""

import re
from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.admin.utils import quote
from django.urls import reverse

from organizations.models import CreditLedgerEntry
from tryons.models import CartTryOnSession

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:tryons_carttryonsession_changelist"


@pytest.fixture
def session(make_cart_session):
    return make_cart_session([f"https://shop.example/{n}.png" for n in (1, 2)], cart_id="cart_admin")


def test_cancelling_sessions_asks_for_confirmation_then_refunds_and_leaves_history(
    client, billing_staff, organization, session
):
    client.force_login(billing_staff)
    selection = {"action": "cancel_sessions", ACTION_CHECKBOX_NAME: [session.pk]}

    confirmation = client.post(reverse(CHANGELIST), selection)
    assert confirmation.status_code == 200
    assert (
        "Yes, cancel these sessions" in confirmation.content.decode()
        and session.pk in confirmation.content.decode()
    )
    assert CartTryOnSession.objects.get(pk=session.pk).status == CartTryOnSession.Status.QUEUED

    response = client.post(reverse(CHANGELIST), {**selection, "post": "yes"}, follow=True)
    assert "Cancelled 1 session(s)." in response.content.decode()
    session.refresh_from_db()
    assert session.status == CartTryOnSession.Status.CANCELLED
    assert session.credits_refunded == Decimal("2.00")
    organization.refresh_from_db()
    assert organization.credits == Decimal("100.00")
    assert CreditLedgerEntry.objects.filter(organization=organization, kind="refund").count() == 1
    entry = LogEntry.objects.get(object_id=session.pk)
    assert entry.user == billing_staff and entry.action_flag == CHANGE
    assert entry.get_change_message() == "Cancelled; refunded 2.00 credits."
    assert CreditLedgerEntry.objects.get(organization=organization, kind="refund").actor == billing_staff
    assert "None available" not in client.get(reverse("admin:index")).content.decode()


def test_session_page_numbers_items_from_one_like_the_ledger(client, support_staff, session):
    client.force_login(support_staff)
    page = client.get(reverse("admin:tryons_carttryonsession_change", args=[quote(session.pk)]))
    html = page.content.decode()
    assert re.findall(r'<td class="field-item_number">\s*<p>(\d+)</p>', html) == ["1", "2"]
    first_item = session.items.order_by("position").first()
    item_page = client.get(reverse("admin:tryons_tryon_change", args=[quote(first_item.pk)])).content.decode()
    assert "Item:" in item_page and "Position" not in item_page


def test_session_list_links_ids_and_the_organization(client, support_staff, organization, session):
    client.force_login(support_staff)
    page = client.get(reverse(CHANGELIST)).content.decode()
    assert reverse("admin:tryons_carttryonsession_change", args=[quote(session.pk)]) in page
    assert reverse("admin:organizations_organization_change", args=[quote(organization.pk)]) in page
    assert session.created_at.strftime("%Y-%m-%d %H:%M:%S UTC") in page


def test_sessions_filter_by_the_engine_that_rendered_their_items(client, support_staff, make_cart_session):
    garments = ["https://shop.example/a.png", "https://shop.example/b.png"]
    by_fashn = make_cart_session(garments, cart_id="cart_f")
    by_local = make_cart_session(["https://shop.example/c.png"], cart_id="cart_l")
    by_fashn.items.filter(position=1).update(renderer="fashn")  # one item is enough to list the session
    by_local.items.update(renderer="local")
    client.force_login(support_staff)

    def listed(engine):
        page = client.get(reverse(CHANGELIST), {"engine": engine}).content.decode()
        return {s.cart_id for s in (by_fashn, by_local) if s.cart_id in page}

    assert listed("fashn") == {"cart_f"}
    assert listed("local") == {"cart_l"}
    assert listed("replicate") == set()


def test_session_page_lists_its_looks_with_their_garments_steps_and_image(
    client, support_staff, organization, photo_of, monkeypatch
):
    from infrastructure.storage import storage_save
    from tryons import services
    from tryons.models import Look, TryOn
    from tryons.services.looks import looks_start

    monkeypatch.setattr("tryons.services.queue.enqueue", lambda *args: None)
    session, _ = services.cart_session_create(
        organization_id=organization.id,
        cart_id="cart_look",
        photo_key=photo_of(organization).storage_key,
        items=[
            services.GarmentInput(
                product_id=name, image_url=f"https://shop.example/{name}.png", category=category
            )
            for name, category in (("tee", "tops"), ("jeans", "bottoms"))
        ],
        looks=[{"lookId": "weekend", "items": ["tee", "jeans"]}],
        render_items=False,
    )
    looks_start(session_id=session.id)
    step = TryOn.objects.get(look__session=session)
    Look.objects.filter(session=session).update(result_key=storage_save("results/look.jpg", b"\xff\xd8 look"))

    client.force_login(support_staff)
    html = client.get(
        reverse("admin:tryons_carttryonsession_change", args=[quote(session.pk)])
    ).content.decode()
    assert "item 2 (bottoms) → item 1 (tops)" in html, "the garments in the order they are put on"
    assert f'{reverse("admin:tryons_tryon_change", args=[quote(step.pk)])}">bottoms</a> queued' in html
    assert 'alt="look weekend"' in html
