"""Issue 27 items M4 and 8, from the partner's side of the wire: the README's production web command, a real
Celery worker, and a render held in flight (its garment download is slow) while the partner erases the
customer or cancels the session over HTTP. Afterwards REST, the credit ledger and the webhook payload must
tell the same story, right away.

The regressions: erasing left the rendering item `processing` (its finished render discarded) and the session
with it until the stuck-work sweep 30 minutes later; cancelling let the rendering item complete and be charged
while the session kept `progress: 0` and the `cart_tryon.cancelled` event said `successCount: 0`.
"""

import os
from decimal import Decimal

import pytest
import requests

from organizations.models import CreditLedgerEntry
from tests import workers
from tests.concurrency import wait_until
from tests.live_service import live_service, partner_headers, response_json  # noqa: F401
from tryons.models import TryOn
from webhooks.models import WebhookEvent

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

RENDER_SECONDS = 4.0  # the held item's garment download: the render is in flight this long
SETTLE_SECONDS = 20  # far below the 1,800 s stuck-work sweep


@pytest.fixture
def worker(media_root, tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": workers.worker_database_url(),
        "MEDIA_ROOT": media_root,
        "OUTBOUND_ALLOW_PRIVATE_NETWORKS": "true",  # the garment server is on loopback
        "TRYON_RENDERER": "local",
    }
    log = tmp_path / "worker.log"
    process = workers.start_worker(
        "-P", "solo", "--without-mingle", "--without-gossip", "-l", "info", env=env, log=log
    )
    yield log
    workers.stop_worker(process, timeout=15)


def runs_ended(log) -> int:
    """How many session runs the worker has finished (Celery logs each task's end at INFO)."""
    return sum(
        "tryons.process_cart_session" in line and "succeeded" in line for line in log.read_text().splitlines()
    )


@pytest.fixture
def key(organization) -> dict[str, str]:
    return partner_headers(organization)


def partner_get(live_service, key: dict[str, str], path: str) -> dict:  # noqa: F811
    return response_json(live_service, "GET", path, expect=(200,), headers=key, timeout=10)


def session_ledger_sum(session_id: str) -> Decimal:
    return sum(
        CreditLedgerEntry.objects.filter(reference__startswith=session_id).values_list("amount", flat=True)
    )


def held_render(organization, make_cart_session, garment_server, photo, *, held: int, items: int = 3):
    garment_server.delays[f"/garment-{held}.png"] = RENDER_SECONDS
    session = make_cart_session(
        [garment_server.url(f"/garment-{n}.png") for n in range(items)],
        quality="hd",
        photo=photo,
        cart_id="c",
    )
    item = session.items.get(position=held)
    # Its attempt is on record and its photo read: the garment is downloading, the render in flight.
    wait_until(
        lambda: TryOn.objects.filter(pk=item.id, status="processing", attempts=1).exists(),
        timeout=60,
        interval=0.05,
    )
    return session


def test_erasing_the_customer_mid_render_settles_the_session_at_once_and_rest_ledger_and_event_agree(
    live_service,  # noqa: F811
    worker,
    organization,
    make_cart_session,
    garment_server,
    photo_of,
    allow_private,
    key,
):
    photo = photo_of(organization, "leaving")
    session = held_render(organization, make_cart_session, garment_server, photo, held=1)

    erased = requests.delete(live_service.url("/api/v1/customers/leaving"), headers=key, timeout=10)
    assert erased.status_code == 204, erased.text

    wait_until(
        lambda: partner_get(live_service, key, f"/api/v1/cart-tryons/{session.id}")["status"] != "processing",
        timeout=SETTLE_SECONDS,
        interval=1.0,  # under the key's 60 requests a minute
        message="the session did not settle after its customer was erased mid-render",
    )
    wait_until(lambda: WebhookEvent.objects.filter(event__startswith="cart_tryon.").exists(), timeout=10)
    rest = partner_get(live_service, key, f"/api/v1/cart-tryons/{session.id}")
    [event] = WebhookEvent.objects.filter(event__startswith="cart_tryon.")
    items = rest["cartItems"]
    assert rest["status"] == "partial" and event.event == "cart_tryon.partial"
    assert [i["status"] for i in items] == ["completed", "failed", "failed"]
    assert [(i["error"] or {}).get("code") for i in items[1:]] == ["photo_unavailable"] * 2
    assert items[1]["resultUrl"] is None
    assert (event.data["successCount"], event.data["failureCount"]) == (1, 2)
    # Two hd items refunded: REST, the event and the ledger say 4.
    assert rest["creditsRefunded"] == event.data["creditsRefunded"] == 4
    assert session_ledger_sum(session.id) == -Decimal(rest["creditsCharged"]) + 4
    account = partner_get(live_service, key, "/api/v1/account")
    assert Decimal(str(account["credits"])) == Decimal("100") - Decimal("2")


def test_cancelling_mid_render_refunds_the_rendering_item_and_rest_ledger_and_event_agree(
    live_service,  # noqa: F811
    worker,
    organization,
    make_cart_session,
    garment_server,
    photo_of,
    allow_private,
    key,
):
    session = held_render(organization, make_cart_session, garment_server, photo_of(organization), held=0)

    ended_before = runs_ended(worker)  # the held run is this worker's current task: it ends after the cancel
    cancelled = requests.post(
        live_service.url(f"/api/v1/cart-tryons/{session.id}/cancel"), headers=key, timeout=10
    )
    assert cancelled.status_code == 200, cancelled.text
    # The render in flight ends after the cancel: wait for the worker's run to return before reading.
    wait_until(lambda: runs_ended(worker) > ended_before, timeout=30, interval=0.2)
    assert garment_server.hits.count("/garment-0.png") == 1  # it was rendering, not stopped before

    rest = partner_get(live_service, key, f"/api/v1/cart-tryons/{session.id}")
    [event] = WebhookEvent.objects.filter(event="cart_tryon.cancelled")
    rest_successes = sum(1 for item in rest["cartItems"] if item["status"] == "completed")
    assert rest["status"] == "cancelled"
    assert (rest["progress"], rest_successes, event.data["successCount"]) == (0, 0, 0)
    assert all(item["resultUrl"] is None for item in rest["cartItems"])
    assert (
        rest["creditsRefunded"]
        == rest["creditsCharged"]
        == event.data["cancellation"]["refundedCredits"]
        == 6
    )
    assert event.data["cancellation"]["itemStillRendering"] is True
    assert session_ledger_sum(session.id) == 0
    account = partner_get(live_service, key, "/api/v1/account")
    assert Decimal(str(account["credits"])) == Decimal("100")
