import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from PIL import Image

from infrastructure.storage import storage_exists, storage_read, storage_save
from organizations.models import CreditLedgerEntry
from tests.tryons.conftest import CountingRenderer
from tryons import services
from tryons.models import CartTryOnSession, TryOn
from tryons.renderers import PermanentRenderError, RetryableRenderError
from tryons.services import creation, processing, queue
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.usefixtures("allow_private")


def garment(url, n=1, category="tops"):
    return services.GarmentInput(
        product_id=f"prod_{n}", variant_id=f"var_{n}", image_url=url, category=category
    )


@pytest.fixture
def photo(organization, photo_of):
    return photo_of(organization)


@pytest.fixture
def make_session(make_cart_session, photo):
    def make(urls, quality="hd", cart_id="cart_1"):
        return make_cart_session(urls, quality=quality, cart_id=cart_id, photo=photo)

    return make


def events(kind=None):
    qs = WebhookEvent.objects.all()
    return list(qs.filter(event=kind) if kind else qs)


def test_session_renders_every_item_and_completes_once(organization, make_session, garment_server, renderer):
    session = make_session([garment_server.url(f"/garment-{n}.png") for n in range(3)])

    services.cart_session_process(session_id=session.id)

    session.refresh_from_db()
    assert (session.status, session.progress) == ("completed", 100)
    assert session.completed_at is not None
    items = list(session.items.order_by("position"))
    assert [item.status for item in items] == ["completed"] * 3
    for item in items:
        assert item.result_key == f"enterprise/org-{organization.id}/results/{item.id}.jpg"
        assert Image.open(io.BytesIO(storage_read(item.result_key))).size == (768, 1024)
        assert item.render_ms is not None
    [event] = events()
    assert event.event == "cart_tryon.completed"
    assert event.data["sessionId"] == session.id
    assert (event.data["successCount"], event.data["failureCount"], event.data["itemCount"]) == (3, 0, 3)
    assert event.data["results"][0]["resultUrl"].startswith("http")
    assert event.data["creditsCharged"] == 6

    # A redelivered task finds nothing to do: no render, no event, no credit movement.
    services.cart_session_process(session_id=session.id)
    assert len(renderer.calls) == 3
    assert len(events()) == 1
    organization.refresh_from_db()
    assert organization.credits == Decimal("94")


def test_failed_items_are_refunded_and_session_is_partial(
    organization, make_session, garment_server, renderer
):
    session = make_session(
        [
            garment_server.url("/garment.png"),
            garment_server.url("/missing.png"),
            garment_server.url("/not-an-image.png"),
        ]
    )

    services.cart_session_process(session_id=session.id)

    session.refresh_from_db()
    assert session.status == "partial"
    assert session.credits_refunded == Decimal("4")
    items = list(session.items.order_by("position"))
    assert [i.status for i in items] == ["completed", "failed", "failed"]
    assert [i.error_code for i in items] == ["", "garment_unavailable", "garment_invalid"]
    refunds = CreditLedgerEntry.objects.filter(kind="refund").order_by("reference")
    assert [r.reference for r in refunds] == [f"{session.id}:item:1:failed", f"{session.id}:item:2:failed"]
    organization.refresh_from_db()
    assert organization.credits == Decimal("98")
    [event] = events()
    assert (event.event, event.data["successCount"], event.data["failureCount"]) == (
        "cart_tryon.partial",
        1,
        2,
    )
    assert event.data["creditsRefunded"] == 4


def test_all_items_failing_fails_the_session_and_refunds_all(
    organization, make_session, garment_server, renderer
):
    session = make_session([garment_server.url("/missing.png")] * 5)
    services.cart_session_process(session_id=session.id)

    session.refresh_from_db()
    assert session.status == "failed"
    assert session.credits_refunded == session.credits_charged == Decimal("9")
    organization.refresh_from_db()
    assert organization.credits == Decimal("100")
    assert [e.event for e in events()] == ["cart_tryon.failed"]


def test_cancel_while_processing_refunds_the_rendering_item_too_and_drops_its_result(
    organization, make_session, garment_server, monkeypatch
):
    """Issue 27 item 8: an item that finishes rendering after the cancel is refunded with the rest and its
    result dropped, so progress, counts, credits and the event agree (README: cancelling)."""
    session = make_session([garment_server.url(f"/garment-{n}.png") for n in range(5)])  # 5 hd: 1.8 each

    def cancel():
        services.cart_session_cancel(organization_id=organization.id, session_id=session.id)

    renderer = CountingRenderer(hook=cancel, at=2)
    monkeypatch.setattr(processing, "get_renderer", lambda *name: renderer)
    services.cart_session_process(session_id=session.id)

    session.refresh_from_db()
    assert session.status == "cancelled"
    items = list(session.items.order_by("position"))
    assert [i.status for i in items] == ["completed"] + ["cancelled"] * 4
    assert len(renderer.calls) == 2  # the second rendered, after the cancel: dropped
    assert items[1].result_key == "" and items[1].credits_refunded == items[1].credits
    assert not storage_exists(f"enterprise/org-{organization.id}/results/{items[1].id}.jpg")
    assert session.credits_refunded == Decimal("7.20")
    assert session.progress == 20  # the one item rendered before the cancel
    assert session.completed_at is not None
    organization.refresh_from_db()
    assert organization.credits == Decimal("100") - Decimal("9") + Decimal("7.20")
    # One event, cart_tryon.cancelled, sent when it was cancelled; it already states the end: nothing the
    # item still rendering did afterwards changes it. No completed/partial/failed event follows.
    (cancelled,) = events()
    assert cancelled.event == "cart_tryon.cancelled"
    assert cancelled.data["cancellation"] == {
        "refundedCredits": 7.2,
        "refundedItemCount": 4,
        "itemStillRendering": True,
    }
    assert (cancelled.data["successCount"], cancelled.data["creditsRefunded"]) == (1, 7.2)
    assert [r["status"] for r in cancelled.data["results"]] == ["completed"] + ["cancelled"] * 4


def test_retryable_download_error_is_retried(make_session, garment_server, renderer):
    session = make_session([garment_server.url("/flaky.png")])
    services.cart_session_process(session_id=session.id)

    item = session.items.get()
    assert item.status == "completed"
    assert item.attempts == 2


def test_renderer_that_keeps_failing_gives_up_and_refunds(
    organization, make_session, garment_server, monkeypatch
):
    class Down:
        name = "http"
        calls = 0

        def render(self, request):
            Down.calls += 1
            raise RetryableRenderError("503 from renderer")

    monkeypatch.setattr(processing, "get_renderer", lambda *name: Down())
    session = make_session([garment_server.url("/garment.png")])
    services.cart_session_process(session_id=session.id)

    item = session.items.get()
    assert (item.status, item.attempts, Down.calls) == ("failed", services.RENDER_MAX_ATTEMPTS, 3)
    organization.refresh_from_db()
    assert organization.credits == Decimal("100")


def test_permanent_renderer_error_is_not_retried(make_session, garment_server, monkeypatch):
    class Rejects:
        name = "http"
        calls = 0

        def render(self, request):
            Rejects.calls += 1
            raise PermanentRenderError("no person detected")

    monkeypatch.setattr(processing, "get_renderer", lambda *name: Rejects())
    session = make_session([garment_server.url("/garment.png")])
    services.cart_session_process(session_id=session.id)
    assert Rejects.calls == 1
    assert session.items.get().error == "no person detected"


def test_redelivery_adopts_a_result_stored_before_the_crash(
    organization, make_session, garment_server, renderer
):
    session = make_session([garment_server.url("/garment-a.png"), garment_server.url("/garment-b.png")])
    first, second = session.items.order_by("position")
    # State left by a worker killed between storing item 1's result and recording it.
    CartTryOnSession.objects.filter(pk=session.id).update(status="processing")
    TryOn.objects.filter(pk=first.id).update(status="processing", attempts=1)
    key = f"enterprise/org-{organization.id}/results/{first.id}.jpg"
    storage_save(key, b"rendered-before-crash")

    services.cart_session_process(session_id=session.id)

    first.refresh_from_db()
    assert (first.status, first.result_key, first.attempts) == ("completed", key, 1)
    assert renderer.calls == [second.id]
    assert storage_read(key) == b"rendered-before-crash"
    assert len(events("cart_tryon.completed")) == 1


def test_redelivery_rerenders_an_item_interrupted_mid_render(make_session, garment_server, renderer):
    session = make_session([garment_server.url("/garment.png")])
    item = session.items.get()
    CartTryOnSession.objects.filter(pk=session.id).update(status="processing")
    TryOn.objects.filter(pk=item.id).update(status="processing", attempts=1)

    services.cart_session_process(session_id=session.id)

    item.refresh_from_db()
    assert (item.status, item.attempts) == ("completed", 2)


def test_single_tryon_completes_and_emits_its_event(photo, make_tryon, garment_server, renderer):
    tryon = make_tryon(
        garment_server.url("/garment.png"), category="bottoms", photo=photo, render_quality="sd"
    )
    services.tryon_process(tryon_id=tryon.id)

    tryon.refresh_from_db()
    assert tryon.status == "completed"
    assert Image.open(io.BytesIO(storage_read(tryon.result_key))).size == (576, 864)
    [event] = events()
    assert (event.event, event.data["tryonId"], event.data["status"]) == (
        "tryon.completed",
        tryon.id,
        "completed",
    )
    assert event.data["resultUrl"]


def test_single_tryon_failure_is_refunded_once(organization, photo, make_tryon, garment_server, renderer):
    tryon = make_tryon(garment_server.url("/missing.png"), photo=photo, render_quality="4k")
    services.tryon_process(tryon_id=tryon.id)
    services.tryon_process(tryon_id=tryon.id)

    tryon.refresh_from_db()
    assert (tryon.status, tryon.credits_refunded) == ("failed", Decimal("4"))
    organization.refresh_from_db()
    assert organization.credits == Decimal("100")
    assert [e.event for e in events()] == ["tryon.failed"]
    assert events()[0].data["error"]


def test_sweeper_requeues_then_fails_stuck_sessions(
    organization, make_session, garment_server, monkeypatch, settings
):
    queued = []
    monkeypatch.setattr(queue, "enqueue", lambda name, object_id: queued.append((name, object_id)))
    session = make_session([garment_server.url("/garment.png")] * 2)
    later = timezone.now() + timedelta(seconds=settings.TRYON_STUCK_AFTER_SECONDS + 1)

    for sweep in range(services.SWEEP_REQUEUE_LIMIT):
        report = services.tryon_sweep_stuck(now=later + timedelta(seconds=sweep * 4000))
        assert report == {"requeued": 1, "failed": 0}
    assert queued == [("tryons.process_cart_session", session.id)] * services.SWEEP_REQUEUE_LIMIT
    # Not stuck again until another full deadline has passed.
    assert services.tryon_sweep_stuck(now=later + timedelta(seconds=4000)) == {"requeued": 0, "failed": 0}

    report = services.tryon_sweep_stuck(now=later + timedelta(seconds=20000))
    assert report == {"requeued": 0, "failed": 1}
    session.refresh_from_db()
    assert session.status == "failed"
    assert {i.error_code for i in session.items.all()} == {"timed_out"}
    organization.refresh_from_db()
    assert organization.credits == Decimal("100")
    assert [e.event for e in events()] == ["cart_tryon.failed"]


def test_customer_erasure_clears_results_but_keeps_billing(
    organization, photo, make_session, garment_server, renderer
):
    session = make_session([garment_server.url("/garment.png")])
    services.cart_session_process(session_id=session.id)
    key = session.items.get().result_key

    keys = services.customer_results_erase(customer_id=photo.customer_id)
    photo.customer.delete()

    assert keys == [key]
    assert storage_exists(key)  # the customers app deletes the returned keys
    session.refresh_from_db()
    item = session.items.get()
    assert (item.result_key, item.photo_key, item.customer_id) == ("", "", None)
    assert (session.customer_id, session.photo_id, session.photo_key) == (None, None, "")
    assert session.credits_charged == Decimal("2")


def test_render_finishing_after_erasure_leaves_no_result(
    organization, photo, make_session, garment_server, monkeypatch
):
    session = make_session([garment_server.url("/garment.png")])

    renderer = CountingRenderer(
        hook=lambda: services.customer_results_erase(customer_id=photo.customer_id), at=1
    )
    monkeypatch.setattr(processing, "get_renderer", lambda *name: renderer)
    services.tryon_process(tryon_id=session.items.get().id)

    item = session.items.get()
    assert item.result_key == ""
    assert not storage_exists(f"enterprise/org-{organization.id}/results/{item.id}.jpg")


def test_estimated_completion_follows_recent_render_durations(organization, make_session, garment_server):
    fast = services.tryon_estimated_completion(organization_id=organization.id, item_count=4)
    session = make_session([garment_server.url("/garment.png")])
    TryOn.objects.filter(session=session).update(
        status="completed", render_ms=60_000, completed_at=timezone.now()
    )

    cache.clear()  # the estimate's inputs are reused for a few seconds (next tests)

    slow = services.tryon_estimated_completion(organization_id=organization.id, item_count=4)
    expected = timezone.now() + timedelta(seconds=240)
    assert abs((slow - expected).total_seconds()) < 5
    assert slow - fast > timedelta(seconds=150)


def _backlog_counts(queries) -> int:
    return sum('SELECT COUNT(*) FROM (SELECT "tryons_tryon"."id"' in query["sql"] for query in queries)


def test_backlog_is_counted_once_per_window_and_each_create_adds_its_items(
    organization, make_session, garment_server, django_capture_on_commit_callbacks
):
    cache.clear()
    url = garment_server.url("/garment.png")
    with CaptureQueriesContext(connection) as queries:
        with django_capture_on_commit_callbacks(execute=True):  # each create commits
            first = make_session([url, url], cart_id="cart_a")
        with django_capture_on_commit_callbacks(execute=True):
            second = make_session([url, url, url], cart_id="cart_b")
        estimate = services.tryon_estimated_completion(organization_id=organization.id, item_count=0)

    assert _backlog_counts(queries.captured_queries) == 1
    # No history: 8 s per item. The second cart waited for the first cart's 2 items, and the 5 items of
    # both carts are the backlog now, although the count was taken before either was created.
    assert abs((second.estimated_completion_at - second.created_at).total_seconds() - 8 * (2 + 3)) < 2
    assert abs((estimate - timezone.now()).total_seconds() - 8 * 5) < 2
    assert first.estimated_completion_at < second.estimated_completion_at

    cache.clear()  # the window ends: the next estimate counts again
    with CaptureQueriesContext(connection) as queries:
        services.tryon_estimated_completion(organization_id=organization.id, item_count=0)
    assert _backlog_counts(queries.captured_queries) == 1


def test_estimate_without_a_reachable_cache_counts_every_time(
    organization, make_session, garment_server, monkeypatch
):
    from redis.exceptions import ConnectionError as RedisConnectionError

    def unreachable(*args, **kwargs):
        raise RedisConnectionError("Connection refused")

    for name in ("shared_counters_get", "shared_counter_start", "shared_counter_add"):
        monkeypatch.setattr(creation, name, unreachable)
    url = garment_server.url("/garment.png")
    make_session([url, url], cart_id="cart_a")

    with CaptureQueriesContext(connection) as queries:
        estimate = services.tryon_estimated_completion(organization_id=organization.id, item_count=1)

    assert _backlog_counts(queries.captured_queries) == 1
    assert abs((estimate - timezone.now()).total_seconds() - 8 * 3) < 2
