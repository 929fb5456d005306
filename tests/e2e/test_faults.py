"""Fault injection on the real processes: a worker killed mid-cart, Redis stopped and restarted, the
partner's webhook receiver down for a minute, PostgreSQL connections dropped.

Each test mends what it broke before it ends, so the ones after it start from a healthy stack.
"""

import json
import threading
import time
from collections import Counter
from decimal import Decimal

import pytest
import requests

from tests.concurrency import wait_until
from tests.e2e.client import expect
from tests.e2e.stack import PROBE_FAILURES
from tests.e2e.test_flow import assert_downloads_image, assert_signed_by

pytestmark = pytest.mark.e2e

CART_EVENTS = ["cart_tryon.completed", "cart_tryon.partial", "cart_tryon.failed"]
# DESIGN.md: dead work resumed within 2 minutes (beat's heartbeat sweeper). RabbitMQ redelivers the dead
# worker's message as soon as its connection drops, and the redelivered run takes over after one missed
# heartbeat: the cart is finished within 30 s of the kill.
RESUME_DEADLINE_SECONDS = {"redis": 120, "rabbitmq": 30}


def _items(garments, tag: str, names=("tshirt", "jeans", "dress", "jacket")) -> list[dict]:
    categories = {"tshirt": "tops", "jeans": "bottoms", "dress": "dresses", "jacket": "outerwear"}
    return [
        {
            "productId": f"prod_{tag}_{name}",
            "name": name.title(),
            "imageUrl": garments.garment_url(f"{name}-{tag}"),
            "category": categories[name],
            "quantity": 1,
            "price": 19.5,
            "currency": "USD",
        }
        for name in names
    ]


def _events_for(receiver, path: str) -> dict[str, list]:
    by_event: dict[str, list] = {}
    for delivery in receiver.received(path):
        by_event.setdefault(json.loads(delivery.body)["id"], []).append(delivery)
    return by_event


def _ledger_balances(operator, organization_id: str) -> list[dict]:
    ledger = operator.ledger(organization_id)
    assert sum(Decimal(str(e["amount"])) for e in ledger) == operator.credits(organization_id)
    return ledger


@pytest.mark.each_broker
def test_worker_killed_mid_cart_resumes_in_time_completes_once_and_charges_once(
    stack, operator, fresh_partner, garments, receiver
):
    """Default settings (the stack shortens no timeout). On Redis the new worker gets the cart back from
    beat's heartbeat sweeper, not from a Redis redelivery, within 2 minutes of the kill; on RabbitMQ from the
    broker's immediate redelivery of the dead worker's unacknowledged message, within 30 s."""
    deadline = RESUME_DEADLINE_SECONDS[stack.broker]
    tag = f"kill-{stack.broker}"  # the receiver and the garment server outlive a stack
    partner = fresh_partner("Crashy Worker Fashion")
    webhook = expect(
        partner.post("/v1/webhooks", json={"url": receiver.url_at(f"/{tag}"), "events": CART_EVENTS}), 201
    )
    partner.upsert_customer("kill-shopper")
    photo_key = partner.upload_photo("kill-shopper")["photoS3Key"]
    items = _items(garments, tag)

    garments.delay = 1.5  # each item's garment download takes 1.5 s: time to catch the worker mid-cart
    try:
        session = partner.create_cart(photo_key, items, quality="sd")
        assert Decimal(str(session["creditsCharged"])) == 4

        def partly_rendered():
            body = partner.cart(session["id"])
            done = [i for i in body["cartItems"] if i["status"] == "completed"]
            return body if body["status"] == "processing" and done else None

        before_kill = wait_until(
            partly_rendered,
            timeout=60,
            interval=0.1,
            ignore=PROBE_FAILURES,
            message="waiting for first item rendered",
        )
        old_worker = stack.worker
        old_worker.kill()
        killed_at = time.monotonic()
        assert not old_worker.alive()
    finally:
        garments.delay = 0
    rendered_before = {i["productId"] for i in before_kill["cartItems"] if i["status"] == "completed"}
    assert 0 < len(rendered_before) < 4, before_kill
    assert partner.cart(session["id"])["status"] == "processing", (
        "nothing finishes the cart while no worker runs"
    )

    stack.start_worker()
    finished = partner.wait_for_cart(session["id"], timeout=deadline)
    resumed_after = time.monotonic() - killed_at
    print(f"\n{stack.broker}: killed worker's cart finished {resumed_after:.0f} s after the kill")
    assert finished["status"] == "completed", finished
    assert resumed_after <= deadline, f"{stack.broker}: dead work resumed within {deadline} s"
    assert finished["progress"] == 100
    assert items and len(finished["cartItems"]) == len(items)
    for item in finished["cartItems"]:
        assert item["status"] == "completed"
        assert_downloads_image(item["resultUrl"])

    # Finished items were not rendered again: their garment was fetched exactly once.
    hits = Counter(path.rsplit("/", 1)[-1] for path in garments.hits if f"-{tag}" in path)
    for item in items:
        name = item["imageUrl"].rsplit("/", 1)[-1]
        if item["productId"] in rendered_before:
            assert hits[name] == 1, hits

    # Charged once, never refunded, and the ledger adds up.
    assert operator.credits(partner.organization_id) == Decimal(96)
    ledger = _ledger_balances(operator, partner.organization_id)
    assert Counter(e["type"] for e in ledger) == {"grant": 1, "charge": 1}

    # One completion event, however many times the task ran.
    events = wait_until(
        lambda: _events_for(receiver, f"/{tag}"),
        timeout=60,
        interval=0.2,
        ignore=PROBE_FAILURES,
        message="waiting for completion webhook",
    )
    time.sleep(3)  # a duplicate would arrive right behind the first
    events = _events_for(receiver, f"/{tag}")
    assert len(events) == 1, events.keys()
    (deliveries,) = events.values()
    payload = assert_signed_by(deliveries[0], webhook["secret"])
    assert payload["event"] == "cart_tryon.completed"
    assert payload["data"]["sessionId"] == session["id"]


class _Traffic:
    """A partner hammering GET /v1/customers from a background thread, recording every outcome."""

    def __init__(self, partner):
        self.partner = partner
        self.outcomes: list[tuple[float, int, dict | None, dict]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                response = self.partner.get("/v1/customers", params={"limit": 1})
                body = (
                    response.json()
                    if response.headers.get("Content-Type", "").startswith("application/json")
                    else None
                )
                self.outcomes.append((time.monotonic(), response.status_code, body, dict(response.headers)))
            except requests.RequestException as exc:
                self.outcomes.append((time.monotonic(), -1, {"exception": repr(exc)}, {}))
            time.sleep(0.05)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=30)


def test_redis_outage_answers_503_then_recovers_without_restarting_web(
    stack, operator, fresh_partner, garments
):
    partner = fresh_partner("Redis Outage Fashion")
    partner.upsert_customer("redis-shopper")
    photo_key = partner.upload_photo("redis-shopper")["photoS3Key"]
    web_pid = stack.processes["web"].pid

    with _Traffic(partner) as traffic:
        time.sleep(1)
        stack.stop_redis()
        outage_started = time.monotonic()
        wait_until(
            lambda: sum(1 for o in traffic.outcomes if o[0] > outage_started and o[1] == 503) >= 10,
            timeout=60,
            interval=0.2,
            ignore=PROBE_FAILURES,
            message="waiting for 503s during the outage",
        )
        ready = requests.get(f"{stack.base_url}/health/ready", timeout=30)
        assert ready.status_code == 503 and ready.json()["checks"]["cache"]["status"] == "error"
        stack.start_redis()  # same port, empty: nothing survives but what PostgreSQL holds
        outage_ended = time.monotonic()
        wait_until(
            lambda: any(o[0] > outage_ended and o[1] == 200 for o in traffic.outcomes),
            timeout=60,
            interval=0.2,
            ignore=PROBE_FAILURES,
            message="waiting for partner requests succeeding again",
        )
        time.sleep(1)

    statuses = Counter(o[1] for o in traffic.outcomes)
    print(f"\nredis outage traffic: {dict(statuses)}")
    assert set(statuses) <= {200, 503}, f"only successes and the documented 503: {statuses}"
    assert traffic.outcomes and statuses[503] >= 10  # the outage's, waited for above
    for _, status, body, headers in traffic.outcomes:
        if status == 503:
            assert body["error"] == "ServiceUnavailable" and body["code"] == 503, body
            assert set(body) >= {"error", "message", "code", "details"}
            assert int(headers["Retry-After"]) >= 1
    after = [o[1] for o in traffic.outcomes if o[0] > outage_ended]
    first_ok = after.index(200)
    assert set(after[first_ok:]) == {200}, "once recovered, every request succeeds"

    # Recovered in place: the same gunicorn master, and the pipeline (broker, worker) works again.
    assert stack.processes["web"].pid == web_pid and stack.processes["web"].alive()
    assert requests.get(f"{stack.base_url}/health/ready", timeout=30).status_code == 200
    session = partner.create_cart(photo_key, _items(garments, "redis", names=("tshirt",)), quality="sd")
    assert partner.wait_for_cart(session["id"], timeout=120)["status"] == "completed"


def test_webhook_receiver_down_for_a_minute_then_every_event_delivered(
    stack, operator, fresh_partner, garments, receiver
):
    partner = fresh_partner("Flaky Receiver Fashion")
    webhook = expect(
        partner.post("/v1/webhooks", json={"url": receiver.url_at("/outage"), "events": CART_EVENTS}), 201
    )
    partner.upsert_customer("outage-shopper")
    photo_key = partner.upload_photo("outage-shopper")["photoS3Key"]

    receiver.stop()
    down_at = time.monotonic()
    try:
        # The "send test" button tries once, now, and reports the failure to the caller (no retries).
        test_response = partner.post(f"/v1/webhooks/{webhook['id']}/test")
        assert test_response.status_code < 500, test_response.text
        print(f"\nwebhook test while down: {test_response.status_code} {test_response.text[:300]}")
        sessions = [
            partner.create_cart(photo_key, _items(garments, f"outage{n}", names=("tshirt",)), quality="sd")
            for n in range(2)
        ]
        for session in sessions:
            assert partner.wait_for_cart(session["id"], timeout=120)["status"] == "completed"
        time.sleep(max(0.0, 60 - (time.monotonic() - down_at)))
    finally:
        receiver.start()  # back on the same port

    expected_sessions = {s["id"] for s in sessions}

    def all_arrived():
        events = _events_for(receiver, "/outage")
        sessions_seen = {json.loads(d[0].body)["data"].get("sessionId") for d in events.values() if d}
        return events if expected_sessions <= sessions_seen else None

    events = wait_until(
        all_arrived,
        timeout=120,
        interval=1,
        ignore=PROBE_FAILURES,
        message="waiting for every event after the outage",
    )
    assert len(events) == 2, "both cart completions delivered, each as one event"
    for deliveries in events.values():
        assert_signed_by(deliveries[-1], webhook["secret"])
    # Every attempt is on record: the failures while down and the success after.
    history = expect(partner.get(f"/v1/webhooks/{webhook['id']}/deliveries", params={"limit": 100}), 200)
    cart_deliveries = [d for d in history["data"] if d["event"] == "cart_tryon.completed"]
    assert len(cart_deliveries) == 2
    for delivery in cart_deliveries:
        attempts = delivery["attempts"]
        assert delivery["status"] == "succeeded" and attempts[-1]["succeeded"], delivery
        assert len(attempts) >= 2 and not any(a["succeeded"] for a in attempts[:-1]), delivery
        print(f"\nwebhook outage: {delivery['id']} attempts at {[a['attemptedAt'] for a in attempts]}")
    assert expect(partner.get(f"/v1/webhooks/{webhook['id']}"), 200)["isActive"] is True


def test_dropped_postgresql_connections_are_recovered(stack, operator, fresh_partner, garments):
    partner = fresh_partner("Flaky Database Fashion")
    partner.upsert_customer("pg-shopper")
    photo_key = partner.upload_photo("pg-shopper")["photoS3Key"]
    for _ in range(6):  # warm both gunicorn workers' persistent connections
        expect(partner.get("/v1/customers"), 200)

    terminated = stack.terminate_database_connections()
    assert terminated > 0, "the web and worker processes hold persistent connections to drop"

    statuses = Counter(partner.get("/v1/customers").status_code for _ in range(20))
    assert statuses == {200: 20}, statuses
    assert operator.organization(partner.organization_id)["id"] == partner.organization_id
    # The worker's connection was dropped too: the next cart still goes through.
    session = partner.create_cart(photo_key, _items(garments, "pg", names=("tshirt",)), quality="sd")
    assert partner.wait_for_cart(session["id"], timeout=120)["status"] == "completed"


def test_partner_servers_dripping_bytes_pin_neither_web_nor_worker(stack, fresh_partner):
    """A webhook receiver and a garment CDN that answer one byte a second, with the stack's defaults: the
    test send answers within its 10 s deadline, and each garment download gives up at its 15 s deadline
    (three attempts, then the item fails and is refunded) instead of following the drip for minutes."""
    from tests.http_servers import SlowServer

    receiver = SlowServer("headers", trickle_bytes=300)
    cdn = SlowServer("body", trickle_bytes=300)
    try:
        partner = fresh_partner("Dripping Servers Fashion")
        webhook = expect(
            partner.post("/v1/webhooks", json={"url": receiver.url("/hooks"), "events": CART_EVENTS}), 201
        )
        started = time.monotonic()
        tested = expect(partner.post(f"/v1/webhooks/{webhook['id']}/test"), 200)
        elapsed = time.monotonic() - started
        print(f"\nwebhook test against a dripping receiver: {elapsed:.1f} s, {tested['error']}")
        assert elapsed < 10 + 3
        assert tested["delivered"] is False and tested["error"] == "Request took longer than 10 s."

        partner.upsert_customer("drip-shopper")
        photo_key = partner.upload_photo("drip-shopper")["photoS3Key"]
        item = {
            "productId": "prod_drip",
            "name": "Drip",
            "imageUrl": cdn.url("/garments/tshirt.png"),
            "category": "tops",
            "quantity": 1,
            "price": 19.5,
            "currency": "USD",
        }
        started = time.monotonic()
        session = partner.create_cart(photo_key, [item], quality="sd")
        finished = partner.wait_for_cart(session["id"], timeout=100)
        elapsed = time.monotonic() - started
        print(f"cart against a dripping CDN: {finished['status']} after {elapsed:.1f} s")
        assert finished["status"] == "failed"
        [failed] = finished["cartItems"]
        assert failed["error"]["code"] == "garment_download_failed", failed
        assert "took longer than 15 s" in failed["error"]["message"]
        assert cdn.requests == 3
    finally:
        receiver.close()
        cdn.close()
