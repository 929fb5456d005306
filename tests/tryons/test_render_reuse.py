"""Render reuse (tryons.reuse): an identical earlier render of the same organization and mode is handed out
again instead of rendered, at the organization's reusedRenderPrice (default 0: the render is refunded whole),
as a copy of its own; anything that changes the image renders anew; reuse never crosses organizations or
modes; erasure takes a customer's renders out of reach; samples without a given seed take distinct renders."""

from decimal import Decimal

import pytest

from infrastructure.storage import storage_exists, storage_read
from organizations.models import CreditLedgerEntry, Organization
from tests.tryons.engine_fixtures import start_fake
from tryons import services
from tryons.controls import CartControls
from tryons.inputs import GarmentInput
from tryons.models import CartTryOnSession, Look, TryOn
from tryons.selectors import cart_session_get
from tryons.serializers.results import CartTryOnSessionSerializer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("allow_private")]

OUTFIT = (("tshirt", "tops"), ("jeans", "bottoms"))


@pytest.fixture(autouse=True)
def _reuse_on(settings):
    settings.RENDER_REUSE_DAYS = 30  # the default, which the other tests turn off (tests/conftest.py)


def _balance_matches_ledger(organization):
    balance = Organization.objects.get(pk=organization.id).credits
    ledger = sum(CreditLedgerEntry.objects.filter(organization=organization).values_list("amount", flat=True))
    assert balance == ledger


@pytest.fixture
def cart(photo_of, garment_server, django_capture_on_commit_callbacks):
    """Create and render a cart of OUTFIT (or `items`) on the photo of `photo` (a new customer by default)."""

    def make(organization, cart_id, *, photo=None, quality="sd", controls=None, items=OUTFIT, **extra):
        session, created = services.cart_session_create(
            organization_id=organization.id,
            cart_id=cart_id,
            photo_key=(photo or photo_of(organization)).storage_key,
            items=[
                GarmentInput(
                    product_id=name, image_url=garment_server.url(f"/garments/{name}.png"), category=cat
                )
                for name, cat in items
            ],
            render_quality=quality,
            controls=controls or CartControls(),
            **extra,
        )
        assert created
        with django_capture_on_commit_callbacks(execute=True):
            services.cart_session_process(session_id=session.id)
        session.refresh_from_db()
        return session

    return make


def _items(session):
    answer = CartTryOnSessionSerializer(
        cart_session_get(organization_id=session.organization_id, session_id=session.id)
    )
    return answer.data["cartItems"]


def test_an_identical_cart_is_handed_the_earlier_renders_without_rendering_and_costs_nothing(
    organization, cart, renderer
):
    first = cart(organization, "cart_1")
    assert len(renderer.calls) == 2 and first.status == "completed"
    before = Organization.objects.get(pk=organization.id).credits

    second = cart(organization, "cart_2")
    assert len(renderer.calls) == 2, "no render for the second cart"
    assert second.status == "completed" and second.progress == 100
    items = _items(second)
    assert [item["reused"] for item in items] == [True, True]
    assert all(item["results"][0]["reused"] for item in items)
    # Charged 2 up front, refunded 2: partners never pay twice for the same image (reusedRenderPrice 0).
    assert Organization.objects.get(pk=organization.id).credits == before
    assert [item["creditsRefunded"] for item in items] == [1, 1] and second.credits_refunded == 2
    references = set(
        CreditLedgerEntry.objects.filter(reference__startswith=second.id, amount__gt=0).values_list(
            "reference", flat=True
        )
    )
    assert references == {f"{second.id}:item:0:reused", f"{second.id}:item:1:reused"}
    # Its own copy: the same image, under the second cart's own key.
    pairs = list(
        zip(
            TryOn.objects.filter(session=first).order_by("position"),
            TryOn.objects.filter(session=second).order_by("position"),
            strict=True,
        )
    )
    assert len(pairs) == 2
    for old, new in pairs:
        assert new.reused_from == old.id and new.result_key != old.result_key
        assert storage_read(new.result_key) == storage_read(old.result_key)
    _balance_matches_ledger(organization)


def test_a_reused_render_costs_the_organizations_reused_render_price(organization, cart, renderer):
    Organization.objects.filter(pk=organization.id).update(settings={"reusedRenderPrice": 0.25})
    cart(organization, "cart_1", quality="hd")  # 2 credits a render
    before = Organization.objects.get(pk=organization.id).credits
    second = cart(organization, "cart_2", quality="hd")
    assert Organization.objects.get(pk=organization.id).credits == before - Decimal("1.00")  # 2 × 0.25 × 2
    assert second.credits_refunded == Decimal("3.00")
    _balance_matches_ledger(organization)


@pytest.mark.parametrize(
    "changed",
    [
        {"quality": "hd"},
        {"controls": CartControls(seed=7)},
        {"controls": CartControls(output_format="png")},
        {"controls": CartControls(garment_photo_type="flat-lay")},
        {"controls": CartControls(reuse=False)},
        {"items": (("tshirt", "tops"), ("jacket", "bottoms"))},
        {"background_scene": "studio"},
    ],
)
def test_anything_that_changes_the_image_or_reuse_false_renders_anew(organization, cart, renderer, changed):
    cart(organization, "cart_1")
    calls = len(renderer.calls)
    second = cart(organization, "cart_2", **changed)
    assert len(renderer.calls) > calls
    # Only the unchanged top of a cart whose other garment changed is handed out again.
    reused = TryOn.objects.filter(session=second).exclude(reused_from="")
    assert list(reused.values_list("product_id", flat=True)) == (["tshirt"] if "items" in changed else [])


def test_the_same_seed_given_again_is_reused_and_another_seed_is_not(organization, cart, renderer):
    cart(organization, "cart_1", controls=CartControls(seed=7))
    cart(organization, "cart_2", controls=CartControls(seed=7))
    assert len(renderer.calls) == 2
    cart(organization, "cart_3", controls=CartControls(seed=8))
    assert len(renderer.calls) == 4


def test_reuse_never_crosses_organizations_or_modes(organization, other_organization, cart, renderer):
    from organizations.services import organization_sandbox

    cart(organization, "cart_1")
    cart(other_organization, "cart_1")
    assert len(renderer.calls) == 4, "another organization's identical cart renders its own"
    sandbox = organization_sandbox(organization=organization)  # with the signup grant as its balance
    cart(sandbox, "cart_1")
    assert len(renderer.calls) == 6, "test mode renders its own"


def test_an_erased_customers_renders_are_never_handed_to_a_later_cart(
    organization, cart, renderer, photo_of, partner_client
):
    first_photo = photo_of(organization, external_id="shopper_a")
    cart(organization, "cart_1", photo=first_photo)
    # Another customer with the very same photo bytes would be handed the renders...
    cart(organization, "cart_2", photo=photo_of(organization, external_id="shopper_b"))
    assert len(renderer.calls) == 2
    # ...until both customers are erased: then no earlier render of that photo is within reach.
    client = partner_client(organization)
    for external_id in ("shopper_a", "shopper_b"):
        assert client.delete(f"/api/v1/customers/{external_id}").status_code in (200, 204)
    assert not TryOn.objects.filter(organization=organization).exclude(reuse_key="").exists()
    third = cart(organization, "cart_3", photo=photo_of(organization, external_id="shopper_c"))
    assert len(renderer.calls) == 4
    assert not TryOn.objects.filter(session=third).exclude(reused_from="").exists()


def test_samples_without_a_seed_take_distinct_earlier_renders_and_render_the_rest(
    organization, cart, renderer
):
    cart(organization, "cart_1", items=OUTFIT[:1], controls=CartControls(num_samples=2))
    assert len(renderer.calls) == 2, "a sample never takes its sibling's render"
    third = cart(organization, "cart_2", items=OUTFIT[:1], controls=CartControls(num_samples=3))
    assert len(renderer.calls) == 3, "two taken from the first cart, one rendered"
    taken = list(
        TryOn.objects.filter(session=third).exclude(reused_from="").values_list("reused_from", flat=True)
    )
    assert len(taken) == len(set(taken)) == 2
    (item,) = _items(third)
    assert [r["reused"] for r in item["results"]] == [True, True, False] and item["reused"] is False


def test_a_look_is_reused_step_by_step(
    organization, cart, renderer, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr("tryons.services.queue.enqueue", lambda task, object_id: queued.append(object_id))

    def run_steps():
        with django_capture_on_commit_callbacks(execute=True):
            while queued:
                services.tryon_process(tryon_id=queued.pop(0))

    looks = [{"items": ["tshirt", "jeans"]}]
    cart(organization, "cart_1", looks=looks, render_items=False)
    run_steps()
    assert len(renderer.calls) == 2
    before = Organization.objects.get(pk=organization.id).credits
    second = cart(organization, "cart_2", looks=looks, render_items=False)
    run_steps()
    second.refresh_from_db()
    assert len(renderer.calls) == 2 and second.status == "completed"
    (look,) = Look.objects.filter(session=second)
    assert look.status == "completed" and look.credits_refunded == look.credits == 2
    assert Organization.objects.get(pk=organization.id).credits == before
    assert storage_exists(look.result_key)
    _balance_matches_ledger(organization)


def test_reuse_days_zero_turns_reuse_off(organization, cart, renderer, settings):
    settings.RENDER_REUSE_DAYS = 0
    cart(organization, "cart_1")
    cart(organization, "cart_2")
    assert len(renderer.calls) == 4


def test_on_a_hosted_engine_an_identical_cart_makes_no_engine_call(
    organization, cart, monkeypatch, settings, tasks
):
    fake = start_fake("fashn", monkeypatch, settings)
    first = cart(organization, "cart_1", items=OUTFIT * 1)
    tasks.run_until_idle()
    first.refresh_from_db()
    assert first.status == "completed" and len(fake.requests_to("POST", "/v1/run")) == 2
    second = cart(organization, "cart_2")
    second.refresh_from_db()
    assert second.status == "completed", "settled in the hand-over itself"
    assert len(fake.requests_to("POST", "/v1/run")) == 2
    assert [item["reused"] for item in _items(second)] == [True, True]
    assert CartTryOnSession.objects.get(pk=second.id).credits_refunded == 2
    _balance_matches_ledger(organization)
    fake.close()


@pytest.mark.parametrize("value", [1.5, -0.1, 0.125, "half", True, None, [0.5]])
def test_reused_render_price_out_of_range_is_a_400_and_changes_nothing(
    organization, owner, jwt_client, value
):
    answer = jwt_client(owner).patch(
        f"/api/organizations/{organization.id}", {"settings": {"reusedRenderPrice": value}}, format="json"
    )
    assert answer.status_code == 400, answer.content
    assert "reusedRenderPrice" in str(answer.json()["details"])
    assert Organization.objects.get(pk=organization.id).reused_render_price == 0


def test_reused_render_price_is_set_and_read_back(organization, owner, jwt_client):
    answer = jwt_client(owner).patch(
        f"/api/organizations/{organization.id}", {"settings": {"reusedRenderPrice": 0.5}}, format="json"
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["settings"]["reusedRenderPrice"] == 0.5
    assert Organization.objects.get(pk=organization.id).reused_render_price == Decimal("0.5")


@pytest.mark.postgres
def test_concurrent_identical_carts_render_or_reuse_and_never_charge_a_reused_item_in_full(
    organization, cart, renderer, photo_of, garment_server, django_capture_on_commit_callbacks
):
    from django.db import connection

    from tests.concurrency import run_concurrently

    photo = photo_of(organization)
    sessions = [
        services.cart_session_create(
            organization_id=organization.id,
            cart_id=f"cart_{n}",
            photo_key=photo.storage_key,
            items=[
                GarmentInput(
                    product_id=name, image_url=garment_server.url(f"/garments/{name}.png"), category=cat
                )
                for name, cat in OUTFIT
            ],
            render_quality="sd",
        )[0]
        for n in range(4)
    ]

    def process(index):
        try:
            services.cart_session_process(session_id=sessions[index].id)
        finally:
            connection.close()

    run_concurrently(process, 4)
    rows = list(TryOn.objects.filter(session__in=sessions))
    assert len(rows) == 8 and {row.status for row in rows} == {"completed"}
    for row in rows:  # a reused image is refunded whole (reusedRenderPrice 0), a rendered one not at all
        assert row.credits_refunded == (row.credits if row.reused_from else 0)
    assert len(renderer.calls) + sum(1 for row in rows if row.reused_from) == 8
    assert len(renderer.calls) >= 2, "each garment rendered at least once"
    _balance_matches_ledger(organization)


def test_a_single_try_on_identical_to_an_earlier_one_is_reused_and_says_so(
    organization, make_tryon, photo_of, garment_server, renderer, django_capture_on_commit_callbacks
):
    from tryons.serializers.results import TryOnSerializer

    photo = photo_of(organization)
    url = garment_server.url("/garments/tshirt.png")
    first = make_tryon(url, photo=photo, render_quality="sd")
    second = make_tryon(url, photo=photo, render_quality="sd")
    with django_capture_on_commit_callbacks(execute=True):
        services.tryon_process(tryon_id=first.id)
        services.tryon_process(tryon_id=second.id)
    assert len(renderer.calls) == 1
    second.refresh_from_db()
    assert second.status == "completed" and second.reused_from == first.id
    assert second.credits_refunded == second.credits
    assert TryOnSerializer(second).data["reused"] is True and TryOnSerializer(first).data["reused"] is False
    assert CreditLedgerEntry.objects.filter(reference=f"{second.id}:reused").exists()
    _balance_matches_ledger(organization)


def test_the_billing_dashboard_shows_the_engine_calls_and_credits_reuse_saved(
    organization, cart, renderer, client, billing_staff
):
    from django.urls import reverse

    cart(organization, "cart_1")
    cart(organization, "cart_2")
    client.force_login(billing_staff)
    page = client.get(reverse("console:billing"))
    assert page.status_code == 200
    assert page.context["reuse"] == {"renders": 2, "credits": Decimal("2.00")}
    assert 'id="render-reuse"' in page.content.decode()


class _WorkerKilled(BaseException):
    """The worker process dying: nothing after it runs, no transaction it was in commits."""


def test_a_worker_killed_after_copying_a_reused_render_resumes_it_as_that_reuse_priced_as_one(
    organization, cart, renderer, monkeypatch, django_capture_on_commit_callbacks
):
    first = cart(organization, "cart_1")
    before = Organization.objects.get(pk=organization.id).credits

    def killed(**kwargs):
        raise _WorkerKilled

    # The copy is stored, then the worker dies before recording it.
    monkeypatch.setattr("tryons.services.reuse.tryon_complete", killed)
    with pytest.raises(_WorkerKilled):
        cart(organization, "cart_2")
    monkeypatch.undo()
    second = CartTryOnSession.objects.get(organization=organization, cart_id="cart_2")
    stranded = TryOn.objects.get(session=second, position=0)
    assert stranded.status == "processing" and stranded.reused_from and not stranded.result_key
    # The broker redelivers the dead worker's message once its lease has missed a heartbeat.
    CartTryOnSession.objects.filter(pk=second.id).update(heartbeat_at="2000-01-01T00:00:00Z")
    with django_capture_on_commit_callbacks(execute=True):
        services.cart_session_process(session_id=second.id, redelivered=True)
    second.refresh_from_db()
    assert second.status == "completed" and len(renderer.calls) == 2, "adopted, never rendered"
    items = {tryon.position: tryon for tryon in TryOn.objects.filter(session=second)}
    originals = {tryon.position: tryon for tryon in TryOn.objects.filter(session=first)}
    assert items[0].reused_from == originals[0].id, "recorded as the reuse it was"
    assert Organization.objects.get(pk=organization.id).credits == before, "priced as a reuse: 0"
    assert CreditLedgerEntry.objects.filter(reference=f"{second.id}:item:0:reused").count() == 1
    _balance_matches_ledger(organization)
